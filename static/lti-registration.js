// LTI Dynamic Registration: tell the LMS that registration is done, so it closes its dialog
// (https://www.imsglobal.org/spec/lti-dr/v1p0#step-4-registration-completed-and-activation).
(function () {
  if (!document.querySelector("[data-lti-close]")) return;
  var target = window.opener || window.parent;
  if (target && target !== window) target.postMessage({ subject: "org.imsglobal.lti.close" }, "*");
})();
