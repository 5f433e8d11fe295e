// Forms with data-confirm ask before they submit (the Content-Security-Policy allows no inline
// handlers, so the question lives here rather than in an onsubmit attribute).
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
