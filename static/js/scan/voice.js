// A few seconds from the microphone, browser audio processing off (it harms recognition).

export function canRecord() {
  return Boolean(window.MediaRecorder);
}

// The microphone's stream; rejects when there is none or it is not allowed.
export function openMicrophone() {
  return navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
}

// Records ``ms`` milliseconds from ``microphone``, closes it, and resolves to the Blob.
export async function recordVoice(microphone, ms) {
  const type = MediaRecorder.isTypeSupported("audio/webm;codecs=opus") ? "audio/webm;codecs=opus" : "";
  const recorder = type ? new MediaRecorder(microphone, { mimeType: type }) : new MediaRecorder(microphone);
  const chunks = [];
  recorder.ondataavailable = (event) => { if (event.data.size) chunks.push(event.data); };
  const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
  recorder.start();
  setTimeout(() => recorder.stop(), ms);
  await stopped;
  microphone.getTracks().forEach((track) => track.stop());
  return new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
}
