// Small progressive enhancements only; every page works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  // A form with errors: the summary first (it lists them all and links to each), else the first bad field.
  const summary = document.querySelector(".error-summary");
  const first = summary || document.querySelector("[aria-invalid='true']");
  if (first) first.focus();
  // The menu button on phones: the navigation stays in the page without JavaScript (the button is hidden then).
  const toggle = document.querySelector(".menu-toggle");
  const nav = document.getElementById("main-nav");
  if (toggle && nav) {
    toggle.hidden = false;
    nav.classList.add("collapsible");
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("open", open);
    });
  }
});
