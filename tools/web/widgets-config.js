// Loaded between require.js and the ipywidgets HTML manager (see _config.yml).
// The manager finds its own fonts relative to the module path
// "@jupyter-widgets/html-manager/dist"; map that path to this site's copy,
// which sits beside this file, so widget icons load with no network.
(function () {
  var src = document.currentScript.src;
  var here = src.slice(0, src.lastIndexOf("/") + 1);
  require.config({ paths: { "@jupyter-widgets/html-manager/dist": here + "html-manager" } });
})();
