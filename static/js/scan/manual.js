// Manual entry: find a resident by name or room and record them by hand.

import { findResidents } from "./api.js";

const RESULTS = 8;

export function manualEntry(search, list, residentsUrl, onChoose) {
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });

  async function refresh() {
    const query = search.value.trim();
    if (query.length < 2) return list.replaceChildren();
    const residents = await findResidents(residentsUrl, query, RESULTS);
    list.replaceChildren(...residents.map((resident) => {
      const item = document.createElement("li");
      const label = document.createElement("span");
      label.textContent = resident.name + " · " + resident.room + " · " + resident.status;
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Record " + (resident.status === "IN" ? "OUT" : "IN");
      button.addEventListener("click", () => onChoose(resident));
      item.append(label, button);
      return item;
    }));
  }
}
