// The camera: the rear one by default, a picker for the others, stills for face scans.

export class Camera {
  constructor(video, picker, status) {
    this.video = video;
    this.picker = picker;
    this.status = status;
    this.stream = null;
    this.onStarted = () => {};
    picker.addEventListener("change", () => this.start(picker.value));
  }

  get available() {
    return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  }

  get ready() {
    return Boolean(this.stream && this.video.videoWidth);
  }

  async start(deviceId) {
    if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
    const constraints = deviceId
      ? { deviceId: { exact: deviceId } }
      : { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } };
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ audio: false, video: constraints });
    } catch (err) {
      this.status.textContent = "No camera (" + err.name + "). Use manual entry below.";
      return;
    }
    this.video.srcObject = this.stream;
    await this.video.play();
    this.status.textContent = "Point the camera at a pass.";
    await this.listCameras();
    this.onStarted();
  }

  async listCameras() {
    const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
    const track = this.stream && this.stream.getVideoTracks()[0];
    const current = track && track.getSettings().deviceId;
    this.picker.replaceChildren(...devices.map((device, i) => {
      const option = new Option(device.label || "Camera " + (i + 1), device.deviceId);
      option.selected = device.deviceId === current;
      return option;
    }));
  }

  // One frame as a JPEG data URL: full size, or at most ``maxSide`` pixels wide and high.
  still(canvas, maxSide) {
    const width = this.video.videoWidth, height = this.video.videoHeight;
    const scale = maxSide ? Math.min(1, maxSide / Math.max(width, height)) : 1;
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    canvas.getContext("2d").drawImage(this.video, 0, 0, canvas.width, canvas.height);
    return canvas.toDataURL("image/jpeg", 0.9);
  }
}
