// Small page actions without inline handlers (the Content-Security-Policy forbids them):
// a button with data-print prints the page; a form with data-confirm asks first.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
