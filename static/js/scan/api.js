// The scan API, as the gate page uses it. URLs come from the page, never from here.

export function newScanId() {
  if (window.crypto.randomUUID) return window.crypto.randomUUID();
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));  // plain http on a LAN
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
}

// POST one scan. Resolves to {outcome: "accepted", body}, {outcome: "refused", error}
// or {outcome: "offline"} (no answer, or no answer we can trust: retry the same scan id).
export async function postScan(url, csrf, fields) {
  let payload, headers = { "X-CSRFToken": csrf };
  if (fields.voice instanceof Blob) {  // a recording goes as multipart, the rest as JSON
    payload = new FormData();
    Object.entries(fields).forEach(([key, value]) => {
      if (value instanceof Blob) payload.append(key, value, key + ".webm");
      else payload.append(key, value);
    });
  } else {
    payload = JSON.stringify(fields);
    headers["Content-Type"] = "application/json";
  }
  let response, body;
  try {
    response = await fetch(url, { method: "POST", credentials: "same-origin", headers, body: payload });
    body = await response.json();
  } catch (err) {
    return { outcome: "offline" };
  }
  if (response.status === 201) return { outcome: "accepted", body };
  if (response.status >= 500 || !body || !body.error) return { outcome: "offline" };
  return { outcome: "refused", error: body.error };
}

export async function findResidents(url, query, limit) {
  const address = new URL(url, window.location.href);
  address.searchParams.set("page_size", limit);
  address.searchParams.set("search", query);
  const response = await fetch(address, { credentials: "same-origin" });
  if (!response.ok) return [];
  return (await response.json()).results;
}
