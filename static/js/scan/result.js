// The result panel, over the whole screen: IN, OUT, REFUSED, NOT RECORDED, NO ANSWER, with the
// photo on record and a beep.

export class ResultPanel {
  constructor(root) {
    const $ = (id) => root.querySelector("#" + id);
    this.root = root;
    this.verdict = $("verdict");
    this.photo = $("result-photo");
    this.captured = $("result-captured");
    this.name = $("result-name");
    this.room = $("result-room");
    this.message = $("result-message");
    this.notes = $("result-notes");
    this.retry = $("retry");
    this.closest = $("closest");
    this.closestPhoto = $("closest-photo");
    this.closestText = $("closest-text");
    this.closestStatus = $("closest-status");
    this.addPhoto = $("add-photo");
    this.next = $("next");
    this.covered = [];  // the page behind the panel, out of reach of Tab while it shows
  }

  // Everything but the panel is inert while it covers the screen, so the keyboard and a
  // screen reader stay on the result.
  cover() {
    if (this.covered.length) return;
    for (let node = this.root; node && node !== document.body; node = node.parentElement) {
      for (const sibling of node.parentElement.children) {
        if (sibling !== node && !sibling.inert && sibling.tagName !== "SCRIPT") {
          sibling.inert = true;
          this.covered.push(sibling);
        }
      }
    }
  }

  uncover() {
    this.covered.forEach((element) => { element.inert = false; });
    this.covered = [];
  }

  show(kind, text, detail, person) {
    const wasHidden = this.root.hidden;
    this.root.hidden = false;
    this.cover();
    if (wasHidden) this.next.focus({ preventScroll: true });  // Enter or Space: scan next
    this.root.className = "result " + kind;
    this.verdict.textContent = text;
    this.verdict.classList.toggle("long", text.length > 7);  // NOT RECORDED, NO ANSWER
    this.message.textContent = detail || "";
    this.retry.hidden = true;
    this.next.hidden = false;
    this.closest.hidden = true;
    this.notes.hidden = true;
    const who = person || {};
    this.name.textContent = who.resident_name || who.name || "";
    this.room.textContent = who.room ? "Room " + who.room : "";
    if (who.photo_url) this.photo.src = who.photo_url;
    else this.photo.removeAttribute("src");
    this.photo.hidden = this.photo.closest("figure").hidden = !who.photo_url;
  }

  checking(detail) {
    this.show("checking", "…", detail || "Checking…");
    this.next.hidden = true;  // one scan at a time: nothing to skip to yet
  }

  accepted(body) {
    const event = body.event;
    this.show(event.status === "IN" ? "in" : "out", event.status, "", event);
    const how = body.distance !== null && body.distance !== undefined
      ? " Face distance " + body.distance.toFixed(2) + ": compare the two photos."
      : body.similarity ? " Voice similarity " + body.similarity.toFixed(2) + "." : "";
    this.message.textContent = (event.status === "IN" ? "Welcome in" : "Recorded out") + (body.replayed ? " (already recorded)." : ".") + how;
    this.showNotes(body.notes || []);
    beep([880], 160);
  }

  // What the gate knows beside IN or OUT (leave, a late return, after curfew): warnings in
  // the warning colour, above the message.
  showNotes(notes) {
    this.notes.replaceChildren(...notes.map((note) => {
      const line = document.createElement("p");
      line.className = "note " + note.level;
      line.textContent = note.message;
      return line;
    }));
    this.notes.hidden = notes.length === 0;
  }

  refused(error, add) {
    this.show("refused", "REFUSED", error.message, error.resident);
    if (error.closest && add) this.offerToAdd(error.closest, add);
    beep([300, 200], 220);
  }

  // A face no one matched, close to a resident's: a warden who checks (an ID card, a word
  // with them) that it is them can add this photo, so that the gate knows them better.
  offerToAdd(closest, add) {
    this.closest.hidden = false;
    this.closestPhoto.hidden = !closest.photo_url;
    if (closest.photo_url) this.closestPhoto.src = closest.photo_url;
    this.closestText.textContent = "Closest: " + closest.name + ", room " + closest.room +
      " (distance " + closest.distance.toFixed(2) + "). If it is them (check their ID), add this photo to theirs: the gate will know them better.";
    this.addPhoto.textContent = "Add this photo to " + closest.name;
    this.addPhoto.hidden = false;
    this.addPhoto.disabled = false;
    this.closestStatus.textContent = "";
    this.addPhoto.onclick = async () => {
      this.addPhoto.disabled = true;
      this.closestStatus.textContent = "Adding…";
      const answer = await add(closest.add_photo_url);
      if (answer.ok) {
        this.addPhoto.hidden = true;
        this.closestStatus.textContent = "Added: " + closest.name + " is enrolled with " + answer.body.photos + " photos. Scan again.";
      } else {
        this.addPhoto.disabled = false;
        this.closestStatus.textContent = answer.message;
      }
    };
  }

  // The guard's session or account is the problem, not the resident.
  problem(message) {
    this.show("problem", "NOT RECORDED", message);
    beep([300], 400);
  }

  offline() {
    this.show("offline", "NO ANSWER", "The scan was not confirmed. Check the connection and press Retry: the same scan is sent again and never recorded twice.");
    this.retry.hidden = false;
    this.retry.focus({ preventScroll: true });  // Enter retries; giving up takes a deliberate press
    beep([300], 400);
  }

  // The still a face scan sent, beside the photo on record, for the guard to compare.
  showCaptured(dataUrl) {
    if (dataUrl) this.captured.src = dataUrl;
    this.captured.hidden = this.captured.closest("figure").hidden = !dataUrl;
  }

  hide() {
    this.root.hidden = true;
    this.uncover();
  }
}

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
