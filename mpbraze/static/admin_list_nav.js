// The admin's list pages need their width (a table beside the filter column): the navigation
// sidebar starts collapsed there, unless the user opened or closed it before (Django's
// nav_sidebar.js keeps that choice in localStorage and opens the sidebar when there is none).
// Runs before nav_sidebar.js (deferred), which reads the default set here; the default is
// then taken back, so other pages keep Django's and a click on the toggle is the user's own.
(function () {
  "use strict";
  var KEY = "django.admin.navSidebarIsOpen";
  try {
    if (window.localStorage.getItem(KEY) !== null) { return; }
    window.localStorage.setItem(KEY, "false");
    document.addEventListener("DOMContentLoaded", function () {
      if (window.localStorage.getItem(KEY) === "false") { window.localStorage.removeItem(KEY); }
    });
  } catch (error) {
    // No storage (a privacy mode): Django's default stands.
  }
}());
