// The dashboard's live part (counts and latest scans) refreshes itself every few seconds.
(function () {
  "use strict";
  const live = document.getElementById("live");
  if (!live) return;
  async function refresh() {
    try {
      const response = await fetch(live.dataset.url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
      if (response.ok) live.innerHTML = await response.text();
    } catch (err) {
      // Offline for a moment: keep what is shown and try again on the next tick.
    }
  }
  setInterval(() => { if (!document.hidden) refresh(); }, 5000);
})();
