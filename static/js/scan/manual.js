// Manual entry: find a resident by name or room and record them by hand, after a look at
// the photo on record. The list is read again after every scan, so each button says what
// pressing it would record now.

import { findResidents } from "./api.js";

const RESULTS = 8;

export function manualEntry(search, list, residentsUrl, onChoose) {
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });

  function next(resident) {
    return resident.status === "IN" ? "OUT" : "IN";
  }

  async function refresh() {
    const query = search.value.trim();
    if (query.length < 2) return list.replaceChildren();
    const residents = await findResidents(residentsUrl, query, RESULTS);
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
