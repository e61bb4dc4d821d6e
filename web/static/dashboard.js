// The dashboard's heatmap: the process diagram with each step shaded by how many cases wait there.
// The same numbers are in the table under the diagram; this only draws them.
(function () {
  'use strict';

  var LEVELS = 5;
  var holder = document.getElementById('heatmap');
  var status = document.getElementById('heatmap-status');
  if (!holder) {
    return;
  }

  function say(text, state) {
    if (status) {
      status.textContent = text;
    }
    holder.setAttribute('data-ready', state);
  }

  // 1..LEVELS, relative to the busiest step, so the darkest shade is always the longest queue.
  function level(count, most) {
    return Math.max(1, Math.ceil((count / most) * LEVELS));
  }

  function badge(id, count) {
    var span = document.createElement('span');
    span.className = 'sw-heat-count';
    span.setAttribute('data-element-id', id);
    span.setAttribute('data-count', String(count));
    span.textContent = String(count);
    // A visual copy of the table's number; screen readers get the table instead.
    span.setAttribute('aria-hidden', 'true');
    return span;
  }

  // As tall as the diagram needs at the container's width, so a wide diagram leaves no empty band below it.
  function fit(viewer) {
    var canvas = viewer.get('canvas');
    var box = canvas.viewbox().inner;
    if (box.width > 0) {
      var wanted = Math.round(holder.clientWidth * (box.height / box.width)) + 40;
      holder.style.height = Math.min(Math.max(wanted, 240), 720) + 'px';
      canvas.resized();
    }
    canvas.zoom('fit-viewport', 'auto');
  }

  // Buttons for people who cannot use a mouse wheel or keyboard shortcuts on the canvas.
  function controls(viewer) {
    var group = document.getElementById('heatmap-controls');
    if (!group) {
      return;
    }
    var canvas = viewer.get('canvas');
    var actions = {
      'zoom-in': function () { canvas.zoom(canvas.zoom() * 1.25); },
      'zoom-out': function () { canvas.zoom(canvas.zoom() / 1.25); },
      'fit': function () { canvas.zoom('fit-viewport', 'auto'); }
    };
    Array.prototype.forEach.call(group.querySelectorAll('button[data-action]'), function (button) {
      button.addEventListener('click', actions[button.getAttribute('data-action')]);
    });
    group.hidden = false;
  }

  // The viewer's canvas takes keyboard focus (arrow keys pan it), so it needs a name of its own.
  function label() {
    var svg = holder.querySelector('svg');
    if (svg) {
      svg.setAttribute('role', 'img');
      svg.setAttribute('aria-label', holder.getAttribute('data-label') || 'Process diagram');
    }
  }

  function paint(viewer, counts) {
    var registry = viewer.get('elementRegistry');
    var canvas = viewer.get('canvas');
    var overlays = viewer.get('overlays');
    var ids = Object.keys(counts).filter(function (id) { return counts[id] > 0 && registry.get(id); });
    var most = Math.max.apply(null, ids.map(function (id) { return counts[id]; }).concat([1]));
    ids.forEach(function (id) {
      canvas.addMarker(id, 'sw-heat-' + level(counts[id], most));
      // Unscaled: a count must stay readable when a wide diagram is zoomed out to fit.
      overlays.add(id, 'sw-heat', { position: { top: -12, right: 12 }, scale: false, html: badge(id, counts[id]) });
    });
    return ids.length;
  }

  if (typeof window.BpmnJS !== 'function') {
    say('The diagram viewer could not be loaded; the table below has the same numbers.', 'error');
    return;
  }

  fetch(holder.getAttribute('data-source'), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then(function (response) {
      if (!response.ok) {
        throw new Error('HTTP ' + response.status);
      }
      return response.json();
    })
    .then(function (body) {
      var viewer = new window.BpmnJS({ container: holder });
      return viewer.importXML(body.xml).then(function () {
        fit(viewer);
        label();
        controls(viewer);
        var shown = paint(viewer, body.counts || {});
        say('Version ' + body.version + ' of the diagram. ' + (shown ? 'The darker a step, the more cases wait there; ' +
          'the number on a step is its count.' : 'No case is waiting at any step.'), 'ok');
      });
    })
    .catch(function (error) {
      say('The diagram could not be shown (' + error.message + '); the table below has the same numbers.', 'error');
    });
}());
