// Copy buttons (`<button data-copy="…">`): a plain script from this origin, so copying works as
// soon as the page shows, before hydration, under a CSP that allows no inline handlers.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  navigator.clipboard.writeText(button.dataset.copy).then(() => { button.textContent = "Copied"; });
});
