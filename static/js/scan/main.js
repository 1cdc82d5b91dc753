// The gate page: read passes from the camera and record them through the scan API; or a
// face, a voice, or a resident found by hand. After a read, reading stops until the guard
// has seen the result. A request that got no answer is retried with the same scan id, so
// the server records it at most once.

import { newScanId, postScan } from "./api.js";
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
const urls = { scan: page.dataset.scanUrl, residents: page.dataset.residentsUrl };
const csrf = document.querySelector("meta[name=csrf-token]").content;
const gate = $("gate");
const result = new ResultPanel($("result"));
const camera = new Camera($("video"), $("camera"), $("camera-status"));
const reader = new QrReader($("video"), $("frame"), (token) => record({ mode: "qr", token }));
let pending = null, resumeTimer = null;

// The gate this device stands at is chosen once and remembered on the device. A device that
// has none (or whose gate was closed) asks, and records nothing until it is answered: a
// guessed gate could be an entry-only door that refuses every exit.
const savedGate = localStorage.getItem("hostel.gate");
if (savedGate && [...gate.options].some((o) => o.value === savedGate && !o.disabled)) {
  gate.value = savedGate;
}
const gateChosen = () => gate.value !== "";
const ASK_FOR_THE_GATE = "Which gate is this device at? Choose it above; this device remembers it.";
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

function record(fields, captured) {
  if (!gateChosen()) {
    $("camera-status").textContent = ASK_FOR_THE_GATE;
    gate.focus();
    return;
  }
  result.showCaptured(captured);
  pending = Object.assign({ gate: gate.value, scan_id: newScanId() }, fields);
  send();
}

async function send() {
  clearTimeout(resumeTimer);
  result.checking();
  const answer = await postScan(urls.scan, csrf, pending);
  if (answer.outcome === "offline") return result.offline();  // pending stays, for Retry
  pending = null;
  manual.refresh();  // its buttons say what the next press would record
  if (answer.outcome === "accepted") {
    result.accepted(answer.body);
    resumeTimer = setTimeout(readAgain, READ_AGAIN_AFTER_MS);
  } else if (answer.outcome === "problem") {
    result.problem(answer.message);
  } else {
    result.refused(answer.error);
  }
}

function readAgain() {
  if (camera.stream) reader.start();
}

function resume() {
  clearTimeout(resumeTimer);
  if (pending) return;  // an unconfirmed scan waits for Retry
  result.hide();
  readAgain();
}

$("scan-face").addEventListener("click", () => {
  if (!camera.ready) return;
  reader.stop();
  const still = camera.still($("frame"));
  record({ mode: "face", photo: still }, still);
});

const voiceButton = $("scan-voice");
voiceButton.hidden = !canRecord();
voiceButton.addEventListener("click", async () => {
  let microphone;
  try {
    microphone = await openMicrophone();
  } catch (err) {
    $("camera-status").textContent = "No microphone (" + err.name + ").";
    return;
  }
  reader.stop();
  clearTimeout(resumeTimer);
  voiceButton.disabled = true;
  voiceButton.textContent = "Listening…";
  result.checking("Listening: let the resident say a sentence.");
  let voice;
  try {
    voice = await recordVoice(microphone, VOICE_MS);
  } catch (err) {
    microphone.getTracks().forEach((track) => track.stop());
    result.refused({ message: "The recording failed (" + err.name + "). Try again, or use the pass." });
    return;
  } finally {
    voiceButton.disabled = false;
    voiceButton.textContent = "Scan voice";
  }
  record({ mode: "voice", voice });
});

$("retry").addEventListener("click", send);
$("next").addEventListener("click", () => { pending = null; reader.forget(); resume(); });

const manual = manualEntry($("manual-search"), $("manual-results"), urls.residents, (resident) => {
  reader.stop();
  record({ mode: "manual", resident_id: resident.id });
});

camera.onStarted = () => {
  if (gateChosen()) reader.start();
  else $("camera-status").textContent = ASK_FOR_THE_GATE;
};
if (camera.available) {
  camera.start(null);
} else {
  $("camera-status").textContent = "This browser cannot use the camera here (it needs HTTPS). Use manual entry below.";
}
