// The gate: read passes from the camera with jsQR and record them through POST /api/scan.
// After a read, reading stops until the guard has seen the result. A request that got no
// answer is retried with the same scan id, so the server records it at most once.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const video = $("video"), canvas = $("frame"), gate = $("gate"), camera = $("camera");
  const cameraStatus = $("camera-status"), result = $("result"), verdict = $("verdict");
  const photo = $("result-photo"), nameEl = $("result-name"), roomEl = $("result-room");
  const message = $("result-message"), retry = $("retry"), next = $("next");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const RESUME_AFTER_MS = { accepted: 3000, refused: 4000 };
  let stream = null, reading = false, lastFrame = 0, pending = null, resumeTimer = null;
  // The pass just read is ignored until it has left the frame (or "Scan next"), so a pass
  // held up after its result is not read again as a repeat.
  const GONE_AFTER_MS = 1500;
  let justRead = null, justReadSeen = 0;

  // --- The gate this device stands at is remembered. ------------------------------------
  const savedGate = localStorage.getItem("hostel.gate");
  if (savedGate && [...gate.options].some((o) => o.value === savedGate)) gate.value = savedGate;
  gate.addEventListener("change", () => localStorage.setItem("hostel.gate", gate.value));

  // --- Camera ----------------------------------------------------------------------------
  async function startCamera(deviceId) {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    const video_ = deviceId
      ? { deviceId: { exact: deviceId } }
      : { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } };
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: false, video: video_ });
    } catch (err) {
      cameraStatus.textContent = "No camera (" + err.name + "). Use manual entry below.";
      return;
    }
    video.srcObject = stream;
    await video.play();
    cameraStatus.textContent = "Point the camera at a pass.";
    await listCameras();
    startReading();
  }

  async function listCameras() {
    const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
    const current = stream && stream.getVideoTracks()[0] && stream.getVideoTracks()[0].getSettings().deviceId;
    camera.replaceChildren(...devices.map((device, i) => {
      const option = new Option(device.label || "Camera " + (i + 1), device.deviceId);
      option.selected = device.deviceId === current;
      return option;
    }));
  }
  camera.addEventListener("change", () => startCamera(camera.value));

  // --- Reading ---------------------------------------------------------------------------
  function startReading() {
    reading = true;
    requestAnimationFrame(tick);
  }

  function tick(now) {
    if (!reading) return;
    if (now - lastFrame > 100 && video.readyState >= 2 && video.videoWidth) {  // ~10 a second
      lastFrame = now;
      const scale = Math.min(1, 800 / video.videoWidth);
      const width = Math.round(video.videoWidth * scale), height = Math.round(video.videoHeight * scale);
      canvas.width = width;
      canvas.height = height;
      context.drawImage(video, 0, 0, width, height);
      const code = jsQR(context.getImageData(0, 0, width, height).data, width, height, { inversionAttempts: "attemptBoth" });
      if (code && code.data && code.data === justRead) {
        justReadSeen = now;
      } else if (code && code.data) {
        reading = false;  // one read, one request
        justRead = code.data;
        justReadSeen = now;
        record({ mode: "qr", token: code.data });
        return;
      } else if (justRead && now - justReadSeen > GONE_AFTER_MS) {
        justRead = null;
      }
    }
    requestAnimationFrame(tick);
  }

  // --- Recording -------------------------------------------------------------------------
  function newScanId() {
    if (window.crypto.randomUUID) return window.crypto.randomUUID();
    const bytes = window.crypto.getRandomValues(new Uint8Array(16));  // plain http on a LAN
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function record(fields) {
    captured.hidden = true;
    pending = Object.assign({ gate: gate.value, scan_id: newScanId() }, fields);
    send();
  }

  async function send() {
    show("checking", "…", "Checking…");
    let response, body = null;
    let payload, headers = { "X-CSRFToken": csrf };
    if (pending.voice instanceof Blob) {  // a recording goes as multipart, the rest as JSON
      payload = new FormData();
      Object.entries(pending).forEach(([key, value]) => {
        if (value instanceof Blob) payload.append(key, value, key + ".webm");
        else payload.append(key, value);
      });
    } else {
      payload = JSON.stringify(pending);
      headers["Content-Type"] = "application/json";
    }
    try {
      response = await fetch("/api/scan", { method: "POST", credentials: "same-origin", headers, body: payload });
      body = await response.json();
    } catch (err) {
      return offline();
    }
    if (response.status === 201) return accepted(body);
    if (response.status >= 500 || !body || !body.error) return offline();
    refused(body.error);
  }

  function accepted(body) {
    pending = null;
    const event = body.event;
    show(event.status === "IN" ? "in" : "out", event.status, "", event);
    const how = body.distance !== null && body.distance !== undefined
      ? " Face distance " + body.distance.toFixed(2) + ": compare the two photos."
      : body.similarity ? " Voice similarity " + body.similarity.toFixed(2) + "." : "";
    message.textContent = (event.status === "IN" ? "Welcome in" : "Recorded out") + (body.replayed ? " (already recorded)." : ".") + how;
    beep([880], 160);
    resumeLater(RESUME_AFTER_MS.accepted);
  }

  function refused(error) {
    pending = null;
    show("refused", "REFUSED", error.message, error.resident);
    beep([300, 200], 220);
    resumeLater(RESUME_AFTER_MS.refused);
  }

  function offline() {
    show("offline", "NO ANSWER", "The scan was not confirmed. Check the connection and press Retry: the same scan is sent again and never recorded twice.");
    retry.hidden = false;
    beep([300], 400);
  }

  function show(kind, text, detail, person) {
    clearTimeout(resumeTimer);
    result.hidden = false;
    result.className = "result " + kind;
    verdict.textContent = text;
    message.textContent = detail || "";
    retry.hidden = true;
    const who = person || {};
    nameEl.textContent = who.resident_name || who.name || "";
    roomEl.textContent = who.room ? "Room " + who.room : "";
    if (who.photo_url) {
      photo.src = who.photo_url;
      photo.hidden = false;
    } else {
      photo.hidden = true;
      photo.removeAttribute("src");
    }
  }

  function resumeLater(ms) {
    resumeTimer = setTimeout(resume, ms);
  }

  function resume() {
    clearTimeout(resumeTimer);
    if (pending) return;  // an unconfirmed scan waits for Retry
    result.hidden = true;
    if (stream) startReading();
  }

  // --- Face: one still from the camera, sent as a data URL --------------------------------
  const faceButton = $("scan-face"), captured = $("result-captured");
  faceButton.addEventListener("click", () => {
    if (!stream || !video.videoWidth) return;
    reading = false;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    context.drawImage(video, 0, 0);
    const still = canvas.toDataURL("image/jpeg", 0.9);
    captured.src = still;
    record({ mode: "face", photo: still });
    captured.hidden = false;  // beside the photo on record, for the guard to compare
  });

  // --- Voice: about four seconds from the microphone, processing off ---------------------
  const voiceButton = $("scan-voice");
  const VOICE_MS = 4000;
  if (!window.MediaRecorder) voiceButton.hidden = true;
  voiceButton.addEventListener("click", async () => {
    let microphone;
    try {
      microphone = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
    } catch (err) {
      cameraStatus.textContent = "No microphone (" + err.name + ").";
      return;
    }
    reading = false;
    const chunks = [];
    const type = MediaRecorder.isTypeSupported("audio/webm;codecs=opus") ? "audio/webm;codecs=opus" : "";
    const recorder = type ? new MediaRecorder(microphone, { mimeType: type }) : new MediaRecorder(microphone);
    recorder.ondataavailable = (event) => { if (event.data.size) chunks.push(event.data); };
    recorder.onstop = () => {
      microphone.getTracks().forEach((track) => track.stop());
      voiceButton.disabled = false;
      voiceButton.textContent = "Scan voice";
      record({ mode: "voice", voice: new Blob(chunks, { type: recorder.mimeType || "audio/webm" }) });
    };
    voiceButton.disabled = true;
    voiceButton.textContent = "Listening…";
    show("checking", "…", "Listening: let the resident say a sentence.");
    recorder.start();
    setTimeout(() => recorder.stop(), VOICE_MS);
  });

  retry.addEventListener("click", send);
  next.addEventListener("click", () => { pending = null; justRead = null; resume(); });

  // --- Sound -----------------------------------------------------------------------------
  let audio = null;
  function beep(frequencies, ms) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      frequencies.forEach((frequency, i) => {
        const oscillator = audio.createOscillator(), gain = audio.createGain();
        oscillator.frequency.value = frequency;
        gain.gain.value = 0.2;
        oscillator.connect(gain).connect(audio.destination);
        const start = audio.currentTime + i * (ms / 1000 + 0.05);
        oscillator.start(start);
        oscillator.stop(start + ms / 1000);
      });
    } catch (err) {
      // No sound available: the screen says it all.
    }
  }

  // --- Manual entry ----------------------------------------------------------------------
  const search = $("manual-search"), list = $("manual-results");
  let searchTimer = null;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(findResidents, 250);
  });

  async function findResidents() {
    const query = search.value.trim();
    if (query.length < 2) return list.replaceChildren();
    const response = await fetch("/api/residents?page_size=8&search=" + encodeURIComponent(query), { credentials: "same-origin" });
    if (!response.ok) return;
    const residents = (await response.json()).results;
    list.replaceChildren(...residents.map((resident) => {
      const item = document.createElement("li");
      const label = document.createElement("span");
      label.textContent = resident.name + " · " + resident.room + " · " + resident.status;
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Record " + (resident.status === "IN" ? "OUT" : "IN");
      button.addEventListener("click", () => {
        reading = false;
        record({ mode: "manual", resident_id: resident.id });
      });
      item.append(label, button);
      return item;
    }));
  }

  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    startCamera(null);
  } else {
    cameraStatus.textContent = "This browser cannot use the camera here (it needs HTTPS). Use manual entry below.";
  }
})();
