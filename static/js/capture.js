// Register and edit pages: take the photo with the camera and record the voice sample in the
// browser. Both land in the form's ordinary file inputs, so the server treats them exactly
// like uploads (same checks, same messages).
(function () {
  "use strict";

  // Puts the capture into the input: beside the files already there when it takes several,
  // instead of them otherwise. Past its data-max a capture replaces the last one taken (the
  // first photo, the one shown at the gate, stays). Returns how many there are.
  function addFile(input, blob, name) {
    const transfer = new DataTransfer();
    if (input.multiple) Array.from(input.files).forEach((file) => transfer.items.add(file));
    const most = Number(input.dataset.max || 1);
    while (transfer.items.length >= most) transfer.items.remove(transfer.items.length - 1);
    transfer.items.add(new File([blob], name, { type: blob.type }));
    input.files = transfer.files;
    return transfer.files.length;
  }

  function saved(count, noun) {
    return count > 1
      ? count + " " + noun + "s ready; they are saved with the form."
      : "The " + noun + " is ready; it is saved with the form.";
  }

  function stopAll(stream) {
    if (stream) stream.getTracks().forEach((track) => track.stop());
  }

  function photo(box) {
    const input = box.querySelector("input[type=file]");
    const camera = box.querySelector(".camera");
    const video = camera.querySelector("video");
    const canvas = camera.querySelector("canvas");
    const preview = camera.querySelector(".preview");
    const start = box.querySelector(".start-camera");
    const take = box.querySelector(".take-photo");
    const status = box.querySelector(".capture-status");
    let stream = null;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      start.hidden = true;
      return;
    }
    start.addEventListener("click", async () => {
      try {
        stream = await navigator.mediaDevices.getUserMedia({
          video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 960 } },
          audio: false,
        });
      } catch (err) {
        status.textContent = "The camera could not be opened (" + err.name + "). Upload a photo instead.";
        return;
      }
      video.srcObject = stream;
      await video.play();
      camera.hidden = false;
      video.hidden = false;
      preview.hidden = true;
      take.hidden = false;
      start.hidden = true;
      status.textContent = "Centre the face, then take the photo.";
    });
    take.addEventListener("click", () => {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0);
      canvas.toBlob((blob) => {
        const count = addFile(input, blob, "camera.jpg");
        preview.src = URL.createObjectURL(blob);
        preview.hidden = false;
        video.hidden = true;
        stopAll(stream);
        take.hidden = true;
        start.hidden = false;
        start.textContent = input.multiple ? "Take another" : "Retake";
        status.textContent = saved(count, "photo");
      }, "image/jpeg", 0.92);
    });
  }

  function voice(box) {
    const input = box.querySelector("input[type=file]");
    const button = box.querySelector(".record");
    const playback = box.querySelector(".playback");
    const status = box.querySelector(".capture-status");
    if (!window.MediaRecorder || !navigator.mediaDevices) {
      button.hidden = true;
      return;
    }
    let recorder = null;
    let timer = null;
    button.addEventListener("click", async () => {
      if (recorder && recorder.state === "recording") {
        recorder.stop();
        return;
      }
      let stream;
      try {
        // Processing off: the voice model wants the voice as it is, not as a call would.
        stream = await navigator.mediaDevices.getUserMedia({
          audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
          video: false,
        });
      } catch (err) {
        status.textContent = "The microphone could not be opened (" + err.name + "). Upload a recording instead.";
        return;
      }
      const chunks = [];
      const type = MediaRecorder.isTypeSupported("audio/webm;codecs=opus") ? "audio/webm;codecs=opus" : "";
      recorder = type ? new MediaRecorder(stream, { mimeType: type }) : new MediaRecorder(stream);
      recorder.ondataavailable = (event) => { if (event.data.size) chunks.push(event.data); };
      recorder.onstop = () => {
        clearTimeout(timer);
        stopAll(stream);
        const blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
        const extension = blob.type.includes("ogg") ? "ogg" : blob.type.includes("mp4") ? "m4a" : "webm";
        const count = addFile(input, blob, "recording." + extension);
        playback.src = URL.createObjectURL(blob);
        playback.hidden = false;
        button.textContent = input.multiple ? "Record another" : "Record again";
        status.textContent = saved(count, "recording");
      };
      recorder.start();
      button.textContent = "Stop recording";
      status.textContent = "Recording… read a sentence aloud, for 3 s or more, then stop.";
      timer = setTimeout(() => { if (recorder.state === "recording") recorder.stop(); }, 25000);
    });
  }

  document.querySelectorAll("[data-capture=photo]").forEach(photo);
  document.querySelectorAll("[data-capture=voice]").forEach(voice);
})();
