import { type AnchorHTMLAttributes, useSyncExternalStore } from "react";

/**
 * A hash router: "#/instances/ins_1/access?x=y". Hash routes work on any static host (S3 and
 * CloudFront, the local product) without rewrite rules.
 */
export type Route = { path: string[]; query: URLSearchParams };

const read = () => window.location.hash.replace(/^#/, "") || "/";

const subscribe = (listener: () => void) => {
  window.addEventListener("hashchange", listener);
  return () => window.removeEventListener("hashchange", listener);
};

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, read);
  const [pathname = "/", search = ""] = hash.split("?");
  return {
    path: pathname.split("/").filter(Boolean).map(decodeURIComponent),
    query: new URLSearchParams(search),
  };
}

export function navigate(to: string) {
  window.location.hash = to;
}

export function Link({ to, ...props }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  return <a href={`#${to}`} {...props} />;
}
