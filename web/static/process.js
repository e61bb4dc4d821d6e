// A deployed version's diagram, read only: bpmn-js's navigated viewer (pan and zoom, no editing).
(function () {
  'use strict'

  var root = document.getElementById('diagram')
  if (!root || typeof window.BpmnJS !== 'function') {
    return
  }
  var message = document.getElementById('diagram-message')

  function say (text) {
    message.textContent = text
    message.hidden = !text
  }

  say('Loading the diagram…')
  fetch(root.getAttribute('data-src'), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then(function (response) {
      if (!response.ok) {
        throw new Error('The diagram could not be loaded (' + response.status + ').')
      }
      return response.json()
    })
    .then(function (data) {
      var host = document.createElement('div')
      host.className = 'app-diagram__canvas'
      root.appendChild(host)
      var viewer = new window.BpmnJS({ container: host })
      return viewer.importXML(data.xml).then(function () {
        viewer.get('canvas').zoom('fit-viewport', 'auto')
        say('')
        root.setAttribute('data-ready', 'true')
      }, function () {
        host.remove()
        say('This version has no diagram layout to draw. Download the zip to open it in a BPMN modeller.')
        root.setAttribute('data-ready', 'no-layout')
      })
    })
    .catch(function (error) {
      say(error.message)
      root.setAttribute('data-ready', 'error')
    })
})()
