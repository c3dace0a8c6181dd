/* Loaded on every page by tools/s6_site.py. A box that scrolls sideways (a wide table, a long
   equation or code line on a phone) shows it: s6.css draws a shadow on each edge where content is
   hidden, from the classes set here, and the box takes keyboard focus so that it can be scrolled
   with the arrow keys. Re-checked when the window resizes and when MathJax has typeset.
   A widget's picture (ipywidgets' Image has no alt text) takes the words of the caption drawn
   under it (s6lib.backprop.widgets) as its alt text.
   A hidden solution's title ("Solution to Exercise 1.1 (...)", sphinx-exercise) held a link back to
   its exercise, and a click on it jumped away (and toggled another solution): a click anywhere on
   the title, or Enter / Space on its toggle button, now opens and closes the solution, and the
   name is styled as the title's text (s6.css). */
(function () {
  "use strict";
  const BOXES = ".bd-article pre, .bd-article .s6-table-box, .bd-article mjx-container[display='true'], "
    + ".bd-article .cell_output > .output, .bd-article .pst-scrollable-table-container";

  function mark(box) {
    const wide = box.scrollWidth > box.clientWidth + 1;
    box.classList.toggle("s6-scrolls", wide);
    box.classList.toggle("s6-scrolled", wide && box.scrollLeft > 1);
    box.classList.toggle("s6-at-end", wide && box.scrollLeft + box.clientWidth >= box.scrollWidth - 1);
    if (wide) {
      box.tabIndex = 0;
      if (!box.hasAttribute("aria-label") && !box.matches("pre")) {
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", box.matches("mjx-container") ? "equation, scrolls sideways" : "scrolls sideways");
      }
    }
  }

  function describePictures() {
    document.querySelectorAll(".bd-article .jupyter-widgets img:not([alt])").forEach((img) => {
      const caption = img.closest(".widget-box")?.querySelector(".s6-curve-caption");
      if (caption && caption.textContent.trim()) img.alt = caption.textContent.trim();
    });
  }

  function markAll() {
    describePictures();
    document.querySelectorAll(BOXES).forEach((box) => {
      mark(box);
      if (!box.dataset.s6Watched) {
        box.dataset.s6Watched = "1";
        box.addEventListener("scroll", () => mark(box), { passive: true });
      }
    });
  }

  function solutionTitlesOpenTheirSolution() {
    document.querySelectorAll(".bd-article .solution.dropdown > .admonition-title").forEach((title) => {
      const button = title.querySelector(".toggle-button");
      if (!button || title.dataset.s6Opens) return;
      title.dataset.s6Opens = "1";
      // The exercise's name stays (tests and readers find a solution by it) but is no longer a stop
      // of its own for Tab: the toggle button is.
      title.querySelectorAll(":scope > a.reference").forEach((link) => { link.tabIndex = -1; });
      // sphinx-togglebutton's handler finds its button only from a click on the title's own box
      // or on the button: a click on the words (or math) inside the title goes to the button.
      title.addEventListener("click", (event) => {
        if (event.target === title || event.target.closest(".toggle-button")) return;
        event.preventDefault();
        event.stopPropagation();
        button.click();
      }, true);
    });
  }

  let pending = null;
  const soon = () => { clearTimeout(pending); pending = setTimeout(markAll, 100); };
  window.addEventListener("resize", soon);
  window.addEventListener("load", () => {
    solutionTitlesOpenTheirSolution();
    markAll();
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) MathJax.startup.promise.then(markAll);
    const main = document.getElementById("main-content");
    if (main) new MutationObserver(soon).observe(main, { subtree: true, childList: true });
  });
  window.s6MarkScrollBoxes = markAll; // for the browser test
})();

/* On a desktop the sidebar's list of pages scrolls on its own under the book's title (s6.css): show the
   current page in it, as the theme did when the whole sidebar scrolled. */
(function () {
  "use strict";
  window.addEventListener("load", () => {
    const list = document.querySelector(".bd-sidebar-primary .sidebar-primary-item:has(> .bd-docs-nav)");
    const current = list && [...list.querySelectorAll("a.current, li.current > a")].pop();
    if (!current || getComputedStyle(list).overflowY !== "auto") return;
    const box = list.getBoundingClientRect(), link = current.getBoundingClientRect();
    if (link.bottom > box.bottom || link.top < box.top) list.scrollTop += link.top - box.top - box.height / 3;
  });
})();
