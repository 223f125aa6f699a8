package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"leifeng/cloud/fleet"
	"leifeng/cloud/people"
	"leifeng/cloud/stars"
	"leifeng/cloud/store"
)

// The console's own files. htmx comes from npm (htmx.org, exact version
// in its name; 0BSD licence in htmx-LICENSE), committed as published so
// that no build step or node is needed.
//
//go:embed static
var staticFS embed.FS

// htmxFile is the vendored htmx; its version is in the name.
const htmxFile = "htmx-2.0.11.min.js"

// echartsFile is Apache ECharts (npm echarts, dist/echarts.min.js as
// published; Apache-2.0 in echarts-LICENSE with the d3 part's BSD
// licence, echarts-NOTICE), for the targets page's charts only.
const echartsFile = "echarts-6.1.0.min.js"

// staticURLs are the URLs the layout links: each carries the file's
// version or content hash, so a browser may cache it for a year.
type staticURLs struct{ HTMX, CSS, ECharts, TargetsJS, TargetsCSS string }

var static = staticURLs{
	HTMX:       Prefix + "static/" + htmxFile,
	CSS:        Prefix + "static/console.css?v=" + hashOf("static/console.css"),
	ECharts:    Prefix + "static/" + echartsFile,
	TargetsJS:  Prefix + "static/targets.js?v=" + hashOf("static/targets.js"),
	TargetsCSS: Prefix + "static/targets.css?v=" + hashOf("static/targets.css"),
}

func hashOf(name string) string {
	b, err := staticFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:6])
}

func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix(Prefix+"static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Versioned names: a new release links new URLs.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		files.ServeHTTP(w, r)
	})
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	// cst writes t in China Standard Time, "–" for the zero time.
	"cst": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.In(fleet.CST).Format("2006-01-02 15:04:05")
	},
	"hours": func(sec float64) string { return fmt.Sprintf("%.2f", sec/3600) },
	"add":   func(a, b int) int { return a + b },
	"alertName": func(kind string) string {
		if n, ok := alertNames[kind]; ok {
			return n
		}
		return kind
	},
	"actions":       rolloutActions,
	"exportFormats": func() []string { return []string{"json", "csv"} },
	"join":          func(xs []string) string { return strings.Join(xs, "、") },
	"has":           func(xs []string, x string) bool { return slices.Contains(xs, x) },
	"fieldName": func(field, action string) string {
		if n, ok := fieldNames[field]; ok {
			return n
		}
		if n, ok := fieldNames[action]; ok {
			return n
		}
		return field
	},
	"cardState": func(s store.CardState) string {
		if n, ok := cardStates[s]; ok {
			return n
		}
		return string(s)
	},
	"importKinds": func() []choice { return importKinds },
	"levelZh":     func(l people.Level) string { return l.Zh() },
	"lastArea": func(p []people.Area) *people.Area {
		if len(p) == 0 {
			return nil
		}
		return &p[len(p)-1]
	},
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.Format("2006-01-02")
	},
	"flagName": func(f string) string {
		if n, ok := flagNames[f]; ok {
			return n
		}
		return f
	},
	"cents":    func(c int64) string { return strconv.FormatFloat(float64(c)/100, 'f', -1, 64) },
	"starName": stars.Name,
	"starState": func(s string) string {
		return map[string]string{store.StarApplied: "待审批", store.StarNotice: "公示中", store.StarAwarded: "已授予", store.StarRejected: "未通过"}[s]
	},
	"approverName": func(a string) string {
		return map[string]string{stars.ApproveCounty: "县级", stars.ApproveCity: "市级"}[a]
	},
	"statusName": func(s string) string {
		if n, ok := map[string]string{"ok": "成功", "pending": "等待回应", "failed": "失败", "unanswered": "无回应"}[s]; ok {
			return n
		}
		return s
	},
}

type action struct{ Name, Label string }

// rolloutActions are the buttons of a rollout in state.
func rolloutActions(state string) []action {
	var out []action
	switch state {
	case "active":
		out = append(out, action{"pause", "暂停"}, action{"advance", "进入下一阶段"})
	case "paused":
		out = append(out, action{"resume", "继续"})
	}
	if state == "active" || state == "paused" {
		out = append(out, action{"abort", "中止"})
	}
	return out
}
