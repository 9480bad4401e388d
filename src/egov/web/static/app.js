// Small progressive enhancements only; every page works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  const first = document.querySelector("[aria-invalid='true']");
  if (first) first.focus();
});
