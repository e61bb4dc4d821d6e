// The instance page's diagram: bpmn-js draws the process; the case's state is marked on it; choosing a step
// (on the diagram or from the list beside it) shows who did it, when and with what data.
// An external file with no inline code, so the page works under a Content-Security-Policy without 'unsafe-inline'.
(function () {
  'use strict'

  var MARKERS = {
    completed: 'app-step--completed',
    flows: 'app-flow--taken',
    current: 'app-step--current',
    overdue: 'app-step--overdue'
  }
  var FLOW_NODE = /^bpmn:(.*Task|.*Event|.*Gateway|SubProcess|CallActivity)$/

  var root = document.getElementById('diagram')
  if (!root || typeof window.BpmnJS !== 'function') {
    return
  }
  var message = document.getElementById('diagram-message')
  var details = document.getElementById('step-details')
  var heading = document.getElementById('step-panel-title')
  var list = document.getElementById('step-list')
  var state = null
  var viewer = null
  var selected = null

  say('Loading the diagram…')
  fetch(root.getAttribute('data-src'), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then(function (response) {
      if (!response.ok) {
        throw new Error('The diagram could not be loaded (' + response.status + ').')
      }
      return response.json()
    })
    .then(draw)
    .catch(function (error) {
      say(error.message + ' Every step this case has been through is in the history below.')
      root.setAttribute('data-ready', 'error')
    })

  function say (text) {
    if (message) {
      message.textContent = text
      message.hidden = !text
    }
  }

  function draw (data) {
    state = data
    var canvasHost = document.createElement('div')
    canvasHost.className = 'app-diagram__canvas'
    root.appendChild(canvasHost)
    viewer = new window.BpmnJS({ container: canvasHost })
    return viewer.importXML(data.xml).then(function () {
      say('')
      mark()
      addTimerOverlays()
      listSteps()
      viewer.get('eventBus').on('element.click', function (event) {
        var element = event.element.labelTarget || event.element
        if (FLOW_NODE.test(element.type)) {
          show(element.id)
        }
      })
      setUpTools()
      showCurrent()
      root.setAttribute('data-ready', 'true')
    }, function () {
      canvasHost.remove()
      say('This process has no diagram layout to draw. Every step this case has been through is in the history below.')
      listSteps()
      root.setAttribute('data-ready', 'no-layout')
    })
  }

  function exists (id) {
    return Boolean(viewer && viewer.get('elementRegistry').get(id))
  }

  function mark () {
    var canvas = viewer.get('canvas')
    Object.keys(MARKERS).forEach(function (kind) {
      (state[kind] || []).filter(exists).forEach(function (id) {
        canvas.addMarker(id, MARKERS[kind])
      })
    })
  }

  function addTimerOverlays () {
    var overlays = viewer.get('overlays')
    state.timers.filter(function (timer) { return exists(timer.bpmn_id) }).forEach(function (timer) {
      var badge = document.createElement('div')
      badge.className = 'app-timer-overlay'
      badge.setAttribute('data-timer', timer.bpmn_id)
      badge.textContent = timer.label
      badge.title = timer.name + (timer.timescale ? ' (' + timer.timescale + ')' : '')
      // Under the timer, over its own label (the badge says the same and more), clear of the step it guards:
      // a boundary timer sits on the step's lower edge, so anything beside it covers the step.
      var shape = viewer.get('elementRegistry').get(timer.bpmn_id)
      overlays.add(timer.bpmn_id, 'app-timer', { position: { top: shape.height + 2, left: shape.width / 2 }, html: badge, scale: false })
    })
  }

  function nameOf (id) {
    var element = viewer && viewer.get('elementRegistry').get(id)
    var name = element && element.businessObject && element.businessObject.name
    return name || id
  }

  function statusOf (id) {
    if ((state.overdue || []).indexOf(id) >= 0) return ['Overdue', 'govuk-tag--red']
    if ((state.current || []).indexOf(id) >= 0) return ['Waiting at this step', 'govuk-tag--yellow']
    if (state.timers.some(function (t) { return t.bpmn_id === id })) return ['Timer waiting', 'govuk-tag--blue']
    if ((state.completed || []).indexOf(id) >= 0) return ['Done', 'govuk-tag--green']
    return ['Not reached', 'govuk-tag--grey']
  }

  // Steps that have a history, in the order they first happened: the keyboard's way into the panel.
  function listSteps () {
    var order = Object.keys(state.steps).sort(function (a, b) {
      return state.steps[a][0].at < state.steps[b][0].at ? -1 : 1
    })
    order.forEach(function (id) {
      var item = document.createElement('li')
      var button = document.createElement('button')
      button.type = 'button'
      button.className = 'app-link-button govuk-link'
      button.setAttribute('data-step', id)
      button.textContent = nameOf(id)
      button.addEventListener('click', function () {
        show(id)
        heading.focus()
      })
      item.appendChild(button)
      list.appendChild(item)
    })
    document.getElementById('step-list-title').hidden = order.length === 0
  }

  function el (tag, className, text) {
    var node = document.createElement(tag)
    if (className) node.className = className
    if (text !== undefined) node.textContent = text
    return node
  }

  function summaryRow (list, key, value) {
    var row = el('div', 'govuk-summary-list__row')
    row.appendChild(el('dt', 'govuk-summary-list__key', key))
    row.appendChild(el('dd', 'govuk-summary-list__value', value))
    list.appendChild(row)
  }

  function show (id) {
    select(id)
    var status = statusOf(id)
    var events = state.steps[id] || []
    details.textContent = ''
    details.setAttribute('data-step', id)
    details.appendChild(el('p', 'govuk-body govuk-!-font-weight-bold govuk-!-margin-bottom-1', nameOf(id)))
    var meta = el('p', 'govuk-body-s app-secondary-text', id + ' ')
    meta.appendChild(el('strong', 'govuk-tag ' + status[1], status[0]))
    details.appendChild(meta)
    state.timers.filter(function (t) { return t.bpmn_id === id }).forEach(function (timer) {
      details.appendChild(el('p', 'govuk-body', timer.label + (timer.timescale ? ' (' + timer.timescale + ')' : '')))
    })
    if (!events.length) {
      details.appendChild(el('p', 'govuk-body', 'Nothing has been recorded at this step.'))
      return
    }
    events.forEach(function (event) {
      var block = el('div', 'app-step-event')
      block.setAttribute('data-event', event.type)
      block.appendChild(el('h4', 'govuk-heading-s govuk-!-margin-bottom-1', event.what))
      var facts = el('dl', 'govuk-summary-list govuk-summary-list--no-border app-step-facts')
      summaryRow(facts, 'Who', event.who)
      summaryRow(facts, 'When', event.when)
      event.facts.forEach(function (fact) { summaryRow(facts, fact[0], fact[1]) })
      block.appendChild(facts)
      details.appendChild(block)
    })
  }

  function select (id) {
    if (!viewer || !exists(id)) return
    var canvas = viewer.get('canvas')
    if (selected) canvas.removeMarker(selected, 'app-step--selected')
    canvas.addMarker(id, 'app-step--selected')
    selected = id
  }

  // Open on the steps the case waits at, at a readable size: the whole process is too wide to read at once.
  function showCurrent () {
    var canvas = viewer.get('canvas')
    var registry = viewer.get('elementRegistry')
    var ids = (state.current || []).concat(state.timers.map(function (t) { return t.bpmn_id }))
    var shapes = ids.map(function (id) { return registry.get(id) }).filter(Boolean)
    if (!shapes.length) {
      showWhole()
      return
    }
    setHeight(null)
    var box = shapes.reduce(function (acc, s) {
      return {
        x1: Math.min(acc.x1, s.x), y1: Math.min(acc.y1, s.y),
        x2: Math.max(acc.x2, s.x + s.width), y2: Math.max(acc.y2, s.y + s.height)
      }
    }, { x1: Infinity, y1: Infinity, x2: -Infinity, y2: -Infinity })
    var size = canvas.getSize()
    // Room around the steps for the ones before and after them, but never smaller than a readable size.
    var scale = Math.max(0.45, Math.min(0.8, size.width / (box.x2 - box.x1 + 1200), size.height / (box.y2 - box.y1 + 500)))
    var width = size.width / scale
    var height = size.height / scale
    canvas.viewbox({
      x: (box.x1 + box.x2) / 2 - width / 2,
      y: (box.y1 + box.y2) / 2 - height / 2,
      width: width,
      height: height
    })
  }

  // The whole process at the container's width, the canvas as tall as the diagram then needs (within
  // limits), so a wide process fills the space it has; the zoom buttons then enlarge any part of it.
  function showWhole () {
    var canvas = viewer.get('canvas')
    setHeight(null)
    canvas.zoom('fit-viewport', 'auto')
    var inner = canvas.viewbox().inner
    var host = root.querySelector('.app-diagram__canvas')
    if (inner.width > 0 && host) {
      setHeight(Math.min(Math.max(Math.round(host.clientWidth * inner.height / inner.width) + 40, 320), 720))
      canvas.zoom('fit-viewport', 'auto')
    }
    root.setAttribute('data-view', 'whole')
  }

  function setHeight (pixels) {
    var host = root.querySelector('.app-diagram__canvas')
    if (!host) return
    host.style.height = pixels ? pixels + 'px' : ''
    viewer.get('canvas').resized()
    root.setAttribute('data-view', 'current')
  }

  function setUpTools () {
    var tools = document.getElementById('diagram-tools')
    var canvas = viewer.get('canvas')
    var actions = {
      current: showCurrent,
      fit: showWhole,
      in: function () { canvas.zoom(canvas.zoom() * 1.25) },
      out: function () { canvas.zoom(canvas.zoom() / 1.25) }
    }
    tools.hidden = false
    tools.addEventListener('click', function (event) {
      var button = event.target.closest('[data-diagram-action]')
      if (button) actions[button.getAttribute('data-diagram-action')]()
    })
  }
})()
