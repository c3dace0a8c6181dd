// Loaded between require.js and the ipywidgets HTML manager (see _config.yml).
// The manager finds its own fonts relative to the module path
// "@jupyter-widgets/html-manager/dist"; map that path to this site's copy,
// which sits beside this file, so widget icons load with no network.
(function () {
  var src = document.currentScript.src;
  var here = src.slice(0, src.lastIndexOf("/") + 1);
  require.config({ paths: { "@jupyter-widgets/html-manager/dist": here + "html-manager" } });
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
