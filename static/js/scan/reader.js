// Reads QR codes from the camera with jsQR (vendored, a global), about ten frames a second.
// After a read it stops until started again; the pass just read is ignored until it has
// left the frame for a moment (or forget() is called), so a pass still held up after its
// result is not read again as a repeat.

const FRAME_EVERY_MS = 100;
const GONE_AFTER_MS = 1500;
const MAX_WIDTH = 800;

export class QrReader {
  constructor(video, canvas, onRead) {
    this.video = video;
    this.canvas = canvas;
    this.context = canvas.getContext("2d", { willReadFrequently: true });
    this.onRead = onRead;
    this.reading = false;
    this.lastFrame = 0;
    this.justRead = null;
    this.justReadSeen = 0;
    this.tick = this.tick.bind(this);
  }

  start() {
    if (this.reading) return;  // one loop, however often asked
    this.reading = true;
    requestAnimationFrame(this.tick);
  }

  stop() {
    this.reading = false;
  }

  forget() {
    this.justRead = null;
  }

  tick(now) {
    if (!this.reading) return;
    const video = this.video;
    if (now - this.lastFrame > FRAME_EVERY_MS && video.readyState >= 2 && video.videoWidth) {
      this.lastFrame = now;
      const data = this.decode();
      if (data && data === this.justRead) {
        this.justReadSeen = now;
      } else if (data) {
        this.reading = false;  // one read, one request
        this.justRead = data;
        this.justReadSeen = now;
        this.onRead(data);
        return;
      } else if (this.justRead && now - this.justReadSeen > GONE_AFTER_MS) {
        this.justRead = null;
      }
    }
    requestAnimationFrame(this.tick);
  }

  decode() {
    const scale = Math.min(1, MAX_WIDTH / this.video.videoWidth);
    const width = Math.round(this.video.videoWidth * scale);
    const height = Math.round(this.video.videoHeight * scale);
    this.canvas.width = width;
    this.canvas.height = height;
    this.context.drawImage(this.video, 0, 0, width, height);
    const pixels = this.context.getImageData(0, 0, width, height).data;
    const code = window.jsQR(pixels, width, height, { inversionAttempts: "attemptBoth" });
    return code && code.data ? code.data : null;
  }
}
