// Sharing a policy by URL: the policy's UTF-8 bytes, base64url-encoded, in the fragment
// (`#policy=...`). Browsers never send the fragment to a server, so nothing leaves the
// browser.

export function encodePolicy(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodePolicy(encoded) {
  const b64 = encoded.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

/** The policy in a URL fragment, or null. Throws when the fragment cannot be read. */
export function policyFromHash(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const encoded = params.get("policy");
  return encoded === null ? null : decodePolicy(encoded);
}

/** The page's address with `text` in the fragment. */
export function shareUrl(location, text) {
  return `${location.origin}${location.pathname}${location.search}#policy=${encodePolicy(text)}`;
}
