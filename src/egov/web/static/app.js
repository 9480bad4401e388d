// Small progressive enhancements only; every page works without JavaScript.

// On phones each table row is a card (app.css): each cell shows its column's name.
function labelTableCells(root) {
  for (const table of root.querySelectorAll("table.data")) {
    const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr")) {
      [...row.children].forEach((cell, i) => { if (heads[i] && !cell.dataset.label) cell.dataset.label = heads[i]; });
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  // A form with errors: the summary first (it lists them all and links to each), else the first bad field.
  const summary = document.querySelector(".error-summary");
  const first = summary || document.querySelector("[aria-invalid='true']");
  if (first) first.focus();
  labelTableCells(document);
  // The menu button on phones: without JavaScript the button stays hidden and the menu open.
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
document.addEventListener("htmx:afterSwap", (event) => labelTableCells(event.target));
