// The gate page: read passes from the camera and record them through the scan API; or a
// face, a voice, or a resident found by hand. One scan at a time: while one is on its way,
// nothing else is sent and "Scan next" is hidden. A request that got no answer is retried
// with the same scan id, so the server records it at most once.

import { addPhoto, getChallenge, newScanId, postScan } from "./api.js";
import { Camera } from "./camera.js";
import { manualEntry } from "./manual.js";
import { QrReader } from "./reader.js";
import { ResultPanel } from "./result.js";
import { canRecord, openMicrophone, recordVoice } from "./voice.js";

// After an accepted scan the camera reads again shortly, under the result, which stays until
// the next scan starts or "Scan next". A refusal, or a problem with the guard's session,
// waits for "Scan next": nobody must miss it.
const READ_AGAIN_AFTER_MS = 1500;
const VOICE_MS = 4000;

const $ = (id) => document.getElementById(id);
const page = $("scan-page");
const urls = {
  scan: page.dataset.scanUrl,
  residents: page.dataset.residentsUrl,
  challenge: page.dataset.challengeUrl,
};
const csrf = document.querySelector("meta[name=csrf-token]").content;
const gate = $("gate");
const result = new ResultPanel($("result"));
const camera = new Camera($("video"), $("camera"), $("camera-status"));
const reader = new QrReader($("video"), $("frame"), (token) => record({ mode: "qr", token }));
let pending = null, sending = false, lastOutcome = null, resumeTimer = null;
let lastFace = null;  // the still the last face scan was identified by, for "Add this photo"
let lastFrames = [];  // a live-person scan's frames: the server says which one it identified
let turning = false;  // a live-person face scan is taking its frames

// The gate this device stands at is chosen once and remembered on the device. A device that
// has none (or whose gate was closed) asks, and records nothing until it is answered: a
// guessed gate could be an entry-only door that refuses every exit.
const savedGate = localStorage.getItem("hostel.gate");
if (savedGate && [...gate.options].some((o) => o.value === savedGate && !o.disabled)) {
  gate.value = savedGate;
}
const gateChosen = () => gate.value !== "";
const ASK_FOR_THE_GATE = "Which gate is this device at? Choose it above; this device remembers it.";
function forgetTheGate() {  // it was closed: ask again
  localStorage.removeItem("hostel.gate");
  gate.value = "";
  page.classList.add("needs-gate");
  $("camera-status").textContent = ASK_FOR_THE_GATE;
}
gate.addEventListener("change", () => {
  localStorage.setItem("hostel.gate", gate.value);
  page.classList.remove("needs-gate");
  if (camera.ready) {
    $("camera-status").textContent = "Point the camera at a pass.";
    reader.start();
  }
});
if (!gateChosen()) {
  page.classList.add("needs-gate");
  $("camera-status").textContent = ASK_FOR_THE_GATE;
}

// Whether a new scan may start now; if not, says why where it can be seen.
function ready() {
  if (sending || pending) return false;  // one at a time; an unconfirmed one waits for Retry
  if (gateChosen()) return true;
  result.hide();
  $("camera-status").textContent = ASK_FOR_THE_GATE;
  gate.focus();
  return false;
}

function record(fields, captured) {
  if (!ready()) return;
  result.showCaptured(captured);
  pending = Object.assign({ gate: gate.value, scan_id: newScanId() }, fields);
  // Of several frames only the one the server names may be added to a resident's photos.
  lastFace = fields.mode === "face" && !fields.frames ? captured : null;
  lastFrames = fields.frames || [];
  send();
}

// Of a live-person scan's frames, the one the server identified (the one facing the camera,
// not necessarily the first): shown beside the photo on record, and the one a warden adds.
function identifiedFrame(frame) {
  if (!Number.isInteger(frame) || !lastFrames[frame]) return;
  lastFace = lastFrames[frame];
  result.showCaptured(lastFace);
}

async function send() {
  if (sending || !pending) return;
  sending = true;
  clearTimeout(resumeTimer);
  reader.stop();
  result.checking();
  const answer = await postScan(urls.scan, csrf, pending);
  sending = false;
  lastOutcome = answer.outcome;
  if (answer.outcome === "offline") return result.offline();  // pending stays, for Retry
  pending = null;
  manual.refresh();  // its buttons say what the next press would record
  if (answer.outcome === "accepted") {
    identifiedFrame(answer.body.frame);
    result.accepted(answer.body);
    resumeTimer = setTimeout(readAgain, READ_AGAIN_AFTER_MS);
  } else if (answer.outcome === "problem") {
    if (answer.code === "unknown_gate") forgetTheGate();
    result.problem(answer.message);
  } else {
    identifiedFrame(answer.error.frame);
    const face = lastFace;
    result.refused(answer.error, face && ((url) => addPhoto(url, csrf, face)));
  }
}

function readAgain() {
  if (camera.stream && gateChosen()) reader.start();
}

function resume() {
  clearTimeout(resumeTimer);
  if (sending || pending) return;  // an unconfirmed scan waits for Retry
  // The pass of an accepted or refused scan may still be in view: it is not read again until
  // it has left the frame (the same pass would be refused again the moment the guard
  // dismissed it). After a problem of the guard's (logged out, no answer), the same pass may
  // be tried again at once.
  if (lastOutcome !== "accepted" && lastOutcome !== "refused") reader.forget();
  result.hide();
  readAgain();
}

$("scan-face").addEventListener("click", () => {
  if (!camera.ready || turning || !ready()) return;
  reader.stop();
  const option = gate.selectedOptions[0];
  if (option && option.dataset.liveness === "on") {
    scanLivingFace();
    return;
  }
  const still = camera.still($("frame"));
  record({ mode: "face", photo: still }, still);
});

// At a gate that checks for a live person: the server says which way to turn; the page
// asks the resident, in large letters over the camera, to look at it and then turn, and
// sends a few frames taken meanwhile. A photo held up cannot turn its head.
const LIVE_FRAMES = 6, LIVE_EVERY_MS = 450, LIVE_SIDE = 480;  // 480 px: 0.27 s on the server (bench/scan.py)
const pause = (ms) => new Promise((done) => setTimeout(done, ms));

async function scanLivingFace() {
  turning = true;
  const prompt = $("face-prompt");
  const challenge = await getChallenge(urls.challenge);
  if (challenge && challenge.problem) {
    turning = false;
    result.problem(challenge.problem);
    return;
  }
  if (!challenge) {
    turning = false;
    result.problem("The server did not answer; nothing was recorded. Check the connection, then press Scan face again.");
    return;
  }
  const frames = [], status = $("camera-status"), before = status.textContent;
  status.textContent = "Keep the face in view of the camera.";
  prompt.hidden = false;
  prompt.textContent = "Look at the camera";
  await pause(700);
  frames.push(camera.still($("frame"), LIVE_SIDE));
  prompt.textContent = "Now turn your head to your " + challenge.direction;
  for (let n = 1; n < LIVE_FRAMES; n++) {
    await pause(LIVE_EVERY_MS);
    frames.push(camera.still($("frame"), LIVE_SIDE));
  }
  prompt.hidden = true;
  status.textContent = before;
  turning = false;
  record({ mode: "face", frames, challenge: challenge.challenge }, frames[0]);
}

const voiceButton = $("scan-voice");
voiceButton.hidden = !canRecord();
voiceButton.addEventListener("click", async () => {
  if (!ready()) return;
  reader.stop();
  clearTimeout(resumeTimer);
  sending = true;  // the recording counts as the scan under way
  let microphone;
  try {
    microphone = await openMicrophone();
  } catch (err) {
    sending = false;
    $("camera-status").textContent = "No microphone (" + err.name + ").";
    readAgain();
    return;
  }
  voiceButton.disabled = true;
  voiceButton.textContent = "Listening…";
  result.checking("Listening: let the resident say a sentence.");
  let voice;
  try {
    voice = await recordVoice(microphone, VOICE_MS);
  } catch (err) {
    microphone.getTracks().forEach((track) => track.stop());
    lastOutcome = "problem";
    result.problem("The recording failed (" + err.name + "). Try again, or use the pass.");
    return;
  } finally {
    sending = false;
    voiceButton.disabled = false;
    voiceButton.textContent = "Scan voice";
  }
  record({ mode: "voice", voice });
});

$("retry").addEventListener("click", send);
$("next").addEventListener("click", () => {
  if (sending) return;
  pending = null;  // an unconfirmed scan given up: the guard decided
  resume();
});

const gateMode = () => (gate.selectedOptions[0] ? gate.selectedOptions[0].dataset.mode : "");
const manual = manualEntry($("manual-search"), $("manual-results"), urls.residents, (resident) => {
  reader.stop();
  record({ mode: "manual", resident_id: resident.id });
}, gateMode);
gate.addEventListener("change", () => manual.refresh());  // the buttons say what this gate records

camera.onStarted = () => {
  if (gateChosen()) reader.start();
  else $("camera-status").textContent = ASK_FOR_THE_GATE;
};
if (camera.available) {
  camera.start(null);
} else {
  $("camera-status").textContent = "This browser cannot use the camera here (it needs HTTPS). Use manual entry below.";
}
