// Manual entry: find a resident by name, room, email or phone and record them by hand, after
// a look at the photo on record. The list is read again after every scan, so each button says
// what pressing it would record now. When more residents match than are listed, or none, a
// line between the search box and the list says so.

import { findResidents } from "./api.js";

const RESULTS = 8;

export function manualEntry(search, list, residentsUrl, onChoose, gateMode) {
  let timer = null;
  let asked = 0;  // only the answer to the latest search is shown
  const hint = document.createElement("p");
  hint.id = "manual-hint";
  hint.className = "muted";
  hint.setAttribute("role", "status");
  hint.hidden = true;
  list.before(hint);  // under the search box, where the guard looks while typing
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });

  // What a scan here would record, as the server's Gate.status_after decides it: an
  // entry-only gate records IN, an exit-only gate OUT, any other the opposite (IN first).
  function next(resident) {
    const mode = gateMode();
    if (mode === "entry") return "IN";
    if (mode === "exit") return "OUT";
    return resident.status === "IN" ? "OUT" : "IN";
  }

  function say(text) {
    hint.textContent = text;
    hint.hidden = !text;
  }

  async function refresh() {
    const query = search.value.trim();
    const asking = ++asked;
    if (query.length < 2) {
      say("");
      return list.replaceChildren();
    }
    const { results: residents, count, failed } = await findResidents(residentsUrl, query, RESULTS);
    if (asking !== asked) return;
    if (failed) say("Could not search just now (no connection, or logged out): type again, or reload the page.");
    else if (!count) say("No resident matches “" + query + "”.");
    else if (count > residents.length) {
      say(count + " residents match; the first " + residents.length + " are shown. Type more of the name or room.");
    } else say("");
    list.replaceChildren(...residents.map((resident) => {
      const item = document.createElement("li");
      const label = document.createElement("span");
      label.textContent = resident.name + " · " + resident.room + " · " + (resident.status || "no scan yet");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Record " + next(resident);
      button.addEventListener("click", () => confirm(item, resident));
      item.append(label, button);
      return item;
    }));
  }

  // The guard compares the person with the photo on record before anything is recorded.
  function confirm(item, resident) {
    const box = document.createElement("div");
    box.className = "manual-confirm";
    if (resident.photo_url) {
      const photo = new Image();
      photo.src = resident.photo_url;
      photo.alt = "Photo on record of " + resident.name;
      box.append(photo);
    }
    const question = document.createElement("p");
    question.textContent = "Record " + next(resident) + " for " + resident.name + ", room " + resident.room + "?";
    const yes = document.createElement("button");
    yes.type = "button";
    yes.className = "primary";
    yes.textContent = "Yes, record " + next(resident);
    yes.addEventListener("click", () => onChoose(resident));
    const no = document.createElement("button");
    no.type = "button";
    no.textContent = "Cancel";
    no.addEventListener("click", refresh);
    const actions = document.createElement("div");
    actions.className = "actions";
    actions.append(yes, no);
    box.append(question, actions);
    item.replaceChildren(box);
    yes.focus();
  }

  return { refresh };
}
