// Package console is the cloud's web console: server-rendered pages in
// Chinese (html/template, templates embedded) for station managers and the
// city's administrators, usable on a laptop and on a phone (375 px wide).
//
// Pages: stations (presence, alerts, last command, config versions), one
// station (its presence history, commands and what became of them, a
// command form, its community and name), config push (load what a target
// runs, push only what was changed; refusals in Chinese), the review queue
// (待审核), firmware rollouts and release upload, the area tree and
// organisations (each added and edited within the user's scope, package
// places), volunteer registration and a volunteer's page (ID number always
// masked), the import of areas, organisations or volunteers with the
// per-row report, the city's targets (目标看板: each figure against its
// target, the areas below ranked, the months' trend in ECharts charts,
// links to the exports), and the settings (the leading office's name, shown at
// the foot of every page).
//
// The one script is htmx (npm htmx.org, pinned, vendored under static/,
// served from the binary with a versioned name and a year-long cache): it
// refreshes the station table and posts the small forms in place. Every
// page works without it, as plain links and forms. The targets page adds
// Apache ECharts (npm echarts, vendored the same way) and targets.js for
// its charts, which alone need the scripts.
//
// Who is signed in comes from the request's context (access.UserFrom),
// put there by whoever mounts the console; signing in and out and the
// CSRF token come from its Sessions. Every page checks the user's role and
// scope: a page or a station out of scope answers 404, as if it did not
// exist; an auditor sees no change form and every change it posts is
// refused.
package console
