import {
  type ButtonHTMLAttributes,
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useId,
  useRef,
  useState,
} from "react";
import { ApiError, errorMessage } from "../api/client";

export function Button({
  variant = "default",
  busy = false,
  className,
  children,
  disabled,
  type = "button",
  ...props
}: ButtonHTMLAttributes<HTMLButtonElement> & {
  variant?: "default" | "primary" | "danger" | "ghost";
  busy?: boolean;
}) {
  return (
    <button
      type={type}
      className={`btn btn-${variant}${className ? ` ${className}` : ""}`}
      disabled={disabled || busy}
      aria-busy={busy || undefined}
      {...props}
    >
      {busy && <span className="spinner" aria-hidden="true" />}
      {children}
    </button>
  );
}

export function Loading({ label }: { label: string }) {
  return (
    <div className="state state-loading" role="status">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function ErrorState({
  error,
  title = "Could not load this",
  retry,
}: {
  error: unknown;
  title?: string;
  retry?: () => void;
}) {
  return (
    <div className="state state-error" role="alert">
      <strong>{title}</strong>
      <p>{errorMessage(error)}</p>
      {error instanceof ApiError && <code className="code-tag">{error.code}</code>}
      {retry && (
        <div>
          <Button onClick={retry}>Try again</Button>
        </div>
      )}
    </div>
  );
}

/** What went wrong with an action, shown beside it. */
export function InlineError({ error, className }: { error: unknown; className?: string }) {
  if (!error) return null;
  return (
    <p className={`inline-error${className ? ` ${className}` : ""}`} role="alert">
      {errorMessage(error)}
    </p>
  );
}

export function EmptyState({
  title,
  children,
  action,
}: {
  title: string;
  children?: ReactNode;
  action?: ReactNode;
}) {
  return (
    <div className="state state-empty">
      <strong>{title}</strong>
      {children && <p>{children}</p>}
      {action}
    </div>
  );
}

export type FieldProps = { id: string; "aria-describedby"?: string; "aria-invalid"?: true };

/** A labelled form control with its hint and error, wired for screen readers. */
export function Field({
  label,
  hint,
  error,
  children,
  className,
}: {
  label: ReactNode;
  hint?: ReactNode;
  error?: string;
  children: (props: FieldProps) => ReactNode;
  className?: string;
}) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${error ? " field-invalid" : ""}${className ? ` ${className}` : ""}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-describedby": describedBy, "aria-invalid": error ? true : undefined })}
      {hint && (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      )}
      {error && (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      )}
    </div>
  );
}

/** A search box beside a list: an inline field whose value filters what is shown. */
export function SearchField({
  label,
  value,
  onChange,
  placeholder,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
}) {
  return (
    <Field label={label} className="field-inline">
      {(props) => (
        <input
          {...props}
          type="search"
          placeholder={placeholder}
          value={value}
          onChange={(event) => onChange(event.target.value)}
        />
      )}
    </Field>
  );
}

const STATUS_LABELS: Record<string, string> = {
  queued: "Queued",
  running: "Running",
  synced: "Synced",
  failed: "Failed",
  cancelled: "Cancelled",
  done: "Done",
  ok: "Healthy",
  disabled: "Disabled",
  warning: "Needs attention",
  unknown: "Not checked",
};

export function StatusBadge({ status, label }: { status: string; label?: string }) {
  return (
    <span className={`badge badge-${status}`} data-status={status}>
      <span className="badge-dot" aria-hidden="true" />
      {label ?? STATUS_LABELS[status] ?? status}
    </span>
  );
}

export function Switch({
  checked,
  onChange,
  label,
  disabled,
}: {
  checked: boolean;
  onChange: (checked: boolean) => void;
  label: string;
  disabled?: boolean;
}) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={checked}
      aria-label={label}
      className="switch"
      disabled={disabled}
      onClick={() => onChange(!checked)}
    >
      <span className="switch-thumb" aria-hidden="true" />
    </button>
  );
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function formatRelative(iso: string, now = Date.now()) {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return relative.format(0, "second");
  if (abs < 45 * 60) return relative.format(Math.round(seconds / 60), "minute");
  if (abs < 22 * 3600) return relative.format(Math.round(seconds / 3600), "hour");
  if (abs < 26 * 86400) return relative.format(Math.round(seconds / 86400), "day");
  return absolute.format(new Date(iso));
}

export function Time({ iso, fallback = "Never" }: { iso: string | null | undefined; fallback?: string }) {
  if (!iso) return <span className="muted">{fallback}</span>;
  return (
    <time dateTime={iso} title={absolute.format(new Date(iso))}>
      {formatRelative(iso)}
    </time>
  );
}

/** A native modal dialog: focus is trapped, Escape closes it, focus returns where it was. */
export function Modal({
  open,
  title,
  onClose,
  children,
  footer,
  wide,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      className={`modal${wide ? " modal-wide" : ""}`}
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      {open && (
        <>
          <header className="modal-header">
            <h2 id={titleId}>{title}</h2>
          </header>
          <div className="modal-body">{children}</div>
          {footer && <footer className="modal-footer">{footer}</footer>}
        </>
      )}
    </dialog>
  );
}

/** `page`: the address it was shown on; it goes once the admin moves elsewhere. */
type Toast = { id: number; message: string; page: string };
type Notify = (message: string) => void;

const ToastContext = createContext<Notify>(() => {});

/**
 * Tells what an action achieved ("Platform saved"), one message at a time, over the top bar only,
 * so it never hides a field. Errors are never toasts: they show where they happened. A new page
 * clears it.
 */
export function ToastProvider({ children }: { children: ReactNode }) {
  const [toast, setToast] = useState<Toast | null>(null);
  const next = useRef(1);
  const dismiss = useCallback(
    (id?: number) => setToast((t) => (id === undefined || t?.id === id ? null : t)),
    [],
  );
  const notify = useCallback<Notify>(
    (message) => {
      const id = next.current++;
      setToast({ id, message, page: window.location.hash });
      window.setTimeout(() => dismiss(id), 5000);
    },
    [dismiss],
  );
  useEffect(() => {
    // A toast raised right after navigating belongs to the new page: only older ones go.
    const clear = () => setToast((t) => (t && t.page !== window.location.hash ? null : t));
    window.addEventListener("hashchange", clear);
    return () => window.removeEventListener("hashchange", clear);
  }, []);
  return (
    <ToastContext.Provider value={notify}>
      {children}
      <div className="toasts" aria-live="polite">
        {toast && (
          <div key={toast.id} className="toast" role="status">
            <span>{toast.message}</span>
            <button
              type="button"
              className="toast-close"
              aria-label="Dismiss notification"
              onClick={() => dismiss(toast.id)}
            >
              ×
            </button>
          </div>
        )}
      </div>
    </ToastContext.Provider>
  );
}

export const useToast = () => useContext(ToastContext);

export type ConfirmOptions = {
  title: string;
  message: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  /** A checkbox shown in the dialog; its value is returned. */
  option?: { label: string; defaultChecked: boolean };
};
type Confirm = (options: ConfirmOptions) => Promise<{ option: boolean } | null>;

const ConfirmContext = createContext<Confirm>(async () => null);

/** Confirmation before destructive actions. */
export function ConfirmProvider({ children }: { children: ReactNode }) {
  const [pending, setPending] = useState<{
    options: ConfirmOptions;
    resolve: (value: { option: boolean } | null) => void;
  } | null>(null);
  const [option, setOption] = useState(false);
  const optionId = useId();
  const confirm = useCallback<Confirm>(
    (options) =>
      new Promise((resolve) => {
        setOption(options.option?.defaultChecked ?? false);
        setPending({ options, resolve });
      }),
    [],
  );
  const close = (value: { option: boolean } | null) => {
    pending?.resolve(value);
    setPending(null);
  };
  const options = pending?.options;
  return (
    <ConfirmContext.Provider value={confirm}>
      {children}
      <Modal
        open={pending !== null}
        title={options?.title ?? ""}
        onClose={() => close(null)}
        footer={
          <>
            <Button onClick={() => close(null)}>Cancel</Button>
            <Button variant={options?.danger ? "danger" : "primary"} onClick={() => close({ option })}>
              {options?.confirmLabel}
            </Button>
          </>
        }
      >
        <div className="confirm-message">{options?.message}</div>
        {options?.option && (
          <label className="checkbox" htmlFor={optionId}>
            <input
              id={optionId}
              type="checkbox"
              checked={option}
              onChange={(event) => setOption(event.target.checked)}
            />
            {options.option.label}
          </label>
        )}
      </Modal>
    </ConfirmContext.Provider>
  );
}

export const useConfirm = () => useContext(ConfirmContext);

/** One editable pass-through header; `stored` is the masked value of one already saved. */
export type HeaderRow = { key: number; name: string; value: string; stored?: string };

let headerKey = 1;
export const headerRow = (name = "", value = "", stored?: string): HeaderRow => ({
  key: headerKey++,
  name,
  value,
  stored,
});

export const rowsFromMasked = (masked: Record<string, string>) =>
  Object.entries(masked).map(([name, preview]) => headerRow(name, "", preview));

/** A complete header update: a typed value replaces, an untouched stored header is kept. */
export function headerUpdate(rows: HeaderRow[]): Record<string, string | { keep: true }> {
  const update: Record<string, string | { keep: true }> = {};
  for (const row of rows) {
    const name = row.name.trim();
    if (!name) continue;
    update[name] = row.value === "" && row.stored !== undefined ? { keep: true } : row.value;
  }
  return update;
}

/** Only the headers with a typed value. */
export function headerValues(rows: HeaderRow[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const row of rows) if (row.name.trim() && row.value !== "") values[row.name.trim()] = row.value;
  return values;
}

export function HeadersEditor({
  rows,
  onChange,
  label,
  storedHint = "Leave empty to keep",
  addLabel = "Add header",
  errors = {},
  error,
}: {
  rows: HeaderRow[];
  onChange: (rows: HeaderRow[]) => void;
  /** Names the set for screen readers, e.g. "Default headers". */
  label: string;
  storedHint?: string;
  addLabel?: string;
  /** What is wrong with a header, by its name (or `#<row key>` for a row without one). */
  errors?: Record<string, string>;
  /** What is wrong with the set as a whole. */
  error?: string;
}) {
  const id = useId();
  const update = (key: number, change: Partial<HeaderRow>) =>
    onChange(rows.map((row) => (row.key === key ? { ...row, ...change } : row)));
  return (
    <fieldset className="headers-editor" aria-describedby={error ? `${id}-error` : undefined}>
      <legend className="sr-only">{label}</legend>
      {rows.length === 0 && <p className="muted small">No headers.</p>}
      {rows.map((row, index) => {
        const rowError = errors[row.name.trim()] ?? errors[`#${row.key}`];
        const errorId = rowError ? `${id}-${row.key}-error` : undefined;
        return (
          <div className={`header-row${rowError ? " field-invalid" : ""}`} key={row.key}>
            <input
              aria-label={`${label}: name of header ${index + 1}`}
              aria-invalid={rowError ? true : undefined}
              aria-describedby={errorId}
              placeholder="Header name"
              value={row.name}
              autoComplete="off"
              spellCheck={false}
              onChange={(event) => update(row.key, { name: event.target.value })}
            />
            <input
              aria-label={`${label}: value of ${row.name || `header ${index + 1}`}`}
              aria-describedby={errorId}
              placeholder={row.stored !== undefined ? `${storedHint} ${row.stored}` : "Value"}
              value={row.value}
              autoComplete="off"
              spellCheck={false}
              onChange={(event) => update(row.key, { value: event.target.value })}
            />
            <Button
              variant="ghost"
              aria-label={`Remove header ${row.name || index + 1}`}
              onClick={() => onChange(rows.filter((r) => r.key !== row.key))}
            >
              Remove
            </Button>
            {rowError && (
              <p className="field-error header-error" id={errorId}>
                {row.name.trim() ? `${row.name.trim()}: ${rowError}` : rowError}
              </p>
            )}
          </div>
        );
      })}
      {error && (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
      <div>
        <Button variant="ghost" onClick={() => onChange([...rows, headerRow()])}>
          + {addLabel}
        </Button>
      </div>
    </fieldset>
  );
}

export function useDebounced<T>(value: T, ms = 250): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setDebounced(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

export function PageHeader({
  title,
  description,
  actions,
  back,
}: {
  title: ReactNode;
  description?: ReactNode;
  actions?: ReactNode;
  back?: ReactNode;
}) {
  return (
    <header className="page-header">
      <div>
        {back && <div className="back">{back}</div>}
        <h1 id="page-title" tabIndex={-1}>
          {title}
        </h1>
        {description && <p className="page-description">{description}</p>}
      </div>
      {actions && <div className="page-actions">{actions}</div>}
    </header>
  );
}

/** A small set of mutually exclusive choices shown side by side (radio buttons in a fieldset). */
export function Segmented<T extends string>({
  legend,
  name,
  choices,
  labels,
  value,
  onChange,
}: {
  legend: string;
  name: string;
  choices: readonly T[];
  labels: Record<string, string>;
  value: T;
  onChange: (value: T) => void;
}) {
  return (
    <fieldset className="field">
      <legend>{legend}</legend>
      <div className="segmented">
        {choices.map((option) => (
          <label key={option} className={value === option ? "selected" : undefined}>
            <input
              type="radio"
              name={name}
              value={option}
              checked={value === option}
              onChange={() => onChange(option)}
            />
            {labels[option]}
          </label>
        ))}
      </div>
    </fieldset>
  );
}
