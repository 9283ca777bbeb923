// "Change Braze instance…": the custom endpoints show with Custom only (and stay in sight
// while they hold a value, so an error beside one can be read); hidden, they are not sent.
(function () {
  "use strict";
  var instance = document.getElementById("id_braze_instance");
  var custom = document.getElementById("custom-endpoints");
  var inputs = custom.querySelectorAll("input");

  function showCustom() {
    custom.hidden = instance.value !== "custom";
    Array.prototype.forEach.call(inputs, function (input) { input.disabled = custom.hidden; });
  }

  instance.addEventListener("change", showCustom);
  var hasCustomValues = Array.prototype.some.call(inputs, function (i) { return i.value; });
  if (!hasCustomValues) { showCustom(); }
})();
