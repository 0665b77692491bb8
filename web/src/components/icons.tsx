const rendered = new Map<string, boolean>();

function pixels(text: string): Uint8ClampedArray | null {
  const canvas = document.createElement("canvas");
  canvas.width = 32;
  canvas.height = 32;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  if (!context) return null;
  context.textBaseline = "top";
  context.font = '24px "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji", sans-serif';
  context.fillText(text, 0, 0);
  return context.getImageData(0, 0, 32, 32).data;
}

/**
 * Whether this browser has a glyph for the emoji: without an emoji font it draws the same empty
 * box as for a code point no font has (U+10FFFD, private use).
 */
export function canRenderEmoji(emoji: string): boolean {
  let known = rendered.get(emoji);
  if (known === undefined) {
    const drawn = pixels(emoji);
    const missing = pixels("\u{10FFFD}");
    known = drawn === null || missing === null || drawn.some((value, index) => value !== missing[index]);
    rendered.set(emoji, known);
  }
  return known;
}

/** An MCP server's icon: its emoji on its colour, or a drawn link where no font has the emoji. */
export function InstanceIcon({ instance }: { instance: { icon: { emoji: string; background: string } } }) {
  const { emoji, background } = instance.icon;
  const drawn = canRenderEmoji(emoji);
  return (
    <span
      className="instance-icon"
      style={{ background }}
      aria-hidden="true"
      data-icon={drawn ? "emoji" : "svg"}
    >
      {drawn ? (
        emoji
      ) : (
        <svg
          viewBox="0 0 24 24"
          width="18"
          height="18"
          fill="none"
          stroke="#fff"
          strokeWidth="2.2"
          aria-hidden="true"
        >
          <path d="M10 14a4.5 4.5 0 0 0 6.4 0l3-3a4.5 4.5 0 0 0-6.4-6.4l-1 1" strokeLinecap="round" />
          <path d="M14 10a4.5 4.5 0 0 0-6.4 0l-3 3a4.5 4.5 0 0 0 6.4 6.4l1-1" strokeLinecap="round" />
        </svg>
      )}
    </span>
  );
}

/** Spacegate's mark, drawn, so it looks the same with any fonts. */
export function BrandMark() {
  return (
    <span className="brand-mark" aria-hidden="true">
      <svg viewBox="0 0 32 32" width="14" height="14" aria-hidden="true">
        <path d="M16 3l13 13-13 13L3 16z" fill="#fff" />
      </svg>
    </span>
  );
}
