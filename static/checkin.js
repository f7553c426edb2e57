// Optional: adds the trainer's location to a check-in when they tick "Share my
// location". Without JavaScript, or if the browser refuses, the check-in still works.
document.querySelectorAll('form[data-checkin]').forEach(function (form) {
  form.addEventListener('submit', function (event) {
    var share = form.querySelector('input[name="share_location"]');
    if (!share || !share.checked || !navigator.geolocation || form.dataset.located) return;
    event.preventDefault();
    var done = function () { form.dataset.located = '1'; form.submit(); };
    navigator.geolocation.getCurrentPosition(function (position) {
      form.querySelector('input[name="latitude"]').value = position.coords.latitude.toFixed(6);
      form.querySelector('input[name="longitude"]').value = position.coords.longitude.toFixed(6);
      done();
    }, done, { timeout: 8000, maximumAge: 60000 });
  });
});
