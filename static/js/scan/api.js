// The scan API, as the gate page uses it. URLs come from the page, never from here.

export function newScanId() {
  if (window.crypto.randomUUID) return window.crypto.randomUUID();
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));  // plain http on a LAN
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
}

// Answers that are about the guard's session or account, not the resident: nothing was
// recorded, and scanning again will not help until the guard acts.
const NOT_ABOUT_THE_RESIDENT = {
  401: "You are logged out. Log in again (reload this page), then scan again.",
  403: "This account may not record scans here, or the page is out of date. Reload the page; ask an administrator if it persists.",
  429: "Too many scans from this account in a short time. Wait a few seconds, then scan again.",
};
const SCAN_REFUSALS_403 = new Set(["revoked_pass", "inactive_resident"]);
// Refusals about the device or the request, not the resident.
const NOT_ABOUT_THE_RESIDENT_CODES = {
  unknown_gate: "This device's gate has been closed. Choose the gate this device stands at, then scan again.",
  scan_id_reused: "This scan's id was already used for someone else. Scan again.",
};
const ANSWER_WITHIN_MS = 15000;

// POST one scan. Resolves to {outcome: "accepted", body}, {outcome: "refused", error},
// {outcome: "problem", message} (the session or account, not the resident: nothing was
// recorded) or {outcome: "offline"} (no answer, or none we can trust: retry the same id).
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
    const signal = AbortSignal.timeout ? AbortSignal.timeout(ANSWER_WITHIN_MS) : undefined;
    response = await fetch(url, { method: "POST", credentials: "same-origin", headers, body: payload, signal });
    body = await response.json();
  } catch (err) {
    return { outcome: "offline" };
  }
  if (response.status === 201) return { outcome: "accepted", body };
  if (response.status >= 500 || !body || !body.error) return { outcome: "offline" };
  const code = body.error.code;
  if (NOT_ABOUT_THE_RESIDENT_CODES[code]) {
    return { outcome: "problem", code, message: NOT_ABOUT_THE_RESIDENT_CODES[code] };
  }
  const aboutTheGuard = NOT_ABOUT_THE_RESIDENT[response.status];
  if (aboutTheGuard && !SCAN_REFUSALS_403.has(code)) {
    return { outcome: "problem", code, message: aboutTheGuard };
  }
  return { outcome: "refused", error: body.error };
}

// A data URL's bytes as a Blob (without fetch: the page's CSP allows no data: connections).
function blobOf(dataUrl) {
  const [head, data] = dataUrl.split(",", 2);
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  return new Blob([bytes], { type: head.slice(5).split(";")[0] });
}

// A liveness challenge for a face scan: {challenge, direction}; {problem: message} when the
// guard's session or account is the problem; null without an answer.
export async function getChallenge(url) {
  try {
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (response.ok) return await response.json();
    if (NOT_ABOUT_THE_RESIDENT[response.status]) {
      return { problem: NOT_ABOUT_THE_RESIDENT[response.status] };
    }
    return null;
  } catch (err) {
    return null;
  }
}

// Add the face a scan sent (a data URL) to a resident's enrolment photos. Resolves to
// {ok: true, body} or {ok: false, message}: what went wrong, in words for the warden.
export async function addPhoto(url, csrf, dataUrl) {
  try {
    const form = new FormData();
    form.append("photo", blobOf(dataUrl), "scan.jpg");
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf }, body: form,
    });
    const body = await response.json();
    if (response.status === 201) return { ok: true, body };
    return { ok: false, message: (body.error && body.error.message) || "The photo was not added." };
  } catch (err) {
    return { ok: false, message: "No answer from the server: the photo was not added. Try again." };
  }
}

// The first ``limit`` residents a search finds, and how many it finds in all: {results,
// count}; {results: [], count: 0, failed: true} when the server could not be asked.
export async function findResidents(url, query, limit) {
  const address = new URL(url, window.location.href);
  address.searchParams.set("page_size", limit);
  address.searchParams.set("search", query);
  try {
    const response = await fetch(address, { credentials: "same-origin" });
    if (response.ok) {
      const page = await response.json();
      return { results: page.results, count: page.count };
    }
  } catch (err) {
    // no answer (offline): reported as failed below
  }
  return { results: [], count: 0, failed: true };
}
