// Loaded between require.js and the ipywidgets HTML manager (see _config.yml).
// The manager's modules (@jupyter-widgets/base, controls, html-manager/dist/...)
// find their icon fonts beside their own module path; map those paths to this
// site's copy, which sits beside this file, so widget icons load with no network.
(function () {
  var src = document.currentScript.src;
  var here = src.slice(0, src.lastIndexOf("/") + 1);
  require.config({ paths: { "@jupyter-widgets/html-manager/dist": here + "html-manager",
                            "@jupyter-widgets": here + "html-manager" } });
})();

// Slider handles carry no accessible name of their own: give each the text of its
// widget's label (axe-core: aria-input-field-name), once the manager has drawn them.
(function () {
  function name() {
    document.querySelectorAll(".widget-slider, .jupyter-widget-slider").forEach(function (w) {
      var label = w.querySelector(".widget-label, .jupyter-widget-label");
      var text = label && label.textContent.trim();
      w.querySelectorAll("[role=slider]").forEach(function (handle) {
        if (text && !handle.hasAttribute("aria-label")) handle.setAttribute("aria-label", text);
      });
    });
  }
  new MutationObserver(name).observe(document.documentElement, { subtree: true, childList: true });
})();

// ipywidgets 8 typesets slider labels through MathJax 2's `MathJax.Hub.Queue`;
// this site loads MathJax 3, which has no Hub. Give whatever object ends up
// in window.MathJax a Hub that forwards to MathJax 3's typesetPromise.
(function () {
  var current = window.MathJax;
  function withHub(mj) {
    if (mj && mj.version && !mj.Hub) {
      mj.Hub = { Queue: function (job) {
        if (job && job[2] && mj.typesetPromise) mj.typesetPromise([job[2]]);
      } };
    }
    return mj;
  }
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () { return withHub(current); },
    set: function (value) { current = value; },
  });
})();
