package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"leifeng/cloud/access"
	"leifeng/cloud/calendar"
	"leifeng/cloud/export"
	"leifeng/cloud/store"
)

// Records out (issue 14): the service records in the national form and
// the year's statistics per area, as XLSX or CSV (package export). The
// record exports carry personal data (volunteer numbers, masked names):
// read, audited, and only what the user's scope holds; a chosen area or
// organisation out of scope answers 404 like a missing one. The
// statistics are counts: view.

func (a *api) exportRoutes(mux *router) {
	for _, ext := range []string{"xlsx", "csv"} {
		mux.HandleFunc("GET /api/v1/exports/service-records."+ext, a.read("exports.records", exportWhat, a.exportRecords(ext)))
		mux.HandleFunc("GET /api/v1/exports/statistics."+ext, a.view(exportWhat, a.exportStatistics(ext)))
	}
	mux.HandleFunc("GET /api/v1/exports/service-records.report.json", a.read("exports.records.report", exportWhat, a.exportReport))
}

func exportWhat(r *http.Request) string { return r.URL.Path + "?" + r.URL.RawQuery }

// exportFilter is the records r asks for within its scope, or false
// after answering the refusal.
func (a *api) exportFilter(w http.ResponseWriter, r *http.Request) (store.ExportFilter, bool) {
	ctx, sc, q := r.Context(), scopeOf(r), r.URL.Query()
	var f store.ExportFilter
	for _, d := range []struct {
		name string
		to   *string
	}{{"from", &f.From}, {"to", &f.To}} {
		v := q.Get(d.name)
		if v == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			a.failReview(w, http.StatusBadRequest, d.name+": want YYYY-MM-DD", "日期格式应为 YYYY-MM-DD（如 2026-01-31），请改正后再导出。", nil)
			return f, false
		}
		*d.to = v
	}
	if f.From != "" && f.To != "" && f.From > f.To {
		a.failReview(w, http.StatusBadRequest, "from after to", "开始日期晚于结束日期，请改正后再导出。", nil)
		return f, false
	}
	if area := q.Get("area"); area != "" {
		codes, err := a.f.Store.AreasUnder(ctx, area)
		if err != nil {
			a.failInternal(w, "export: areas", err)
			return f, false
		}
		if len(codes) == 0 || !sc.Area(area) {
			a.failReview(w, http.StatusNotFound, "no such area: "+area, "找不到这个区域，请检查区域编号。", nil)
			return f, false
		}
		f.Communities = codes
	}
	if org := q.Get("org"); org != "" {
		o, err := a.f.Store.Organisation(ctx, org)
		switch {
		case errors.Is(err, store.ErrNotFound) || err == nil && !sc.Organisation(o.ID, o.County, o.Community):
			a.failReview(w, http.StatusNotFound, "no such organisation: "+org, "找不到这个志愿服务组织，请检查组织编号。", nil)
			return f, false
		case err != nil:
			a.failInternal(w, "export: organisation", err)
			return f, false
		}
		f.Orgs = []string{org}
	}
	// What the scope holds, besides what was asked for. An empty list
	// selects nothing (store.ExportFilter).
	switch {
	case sc.All():
	case sc.Role == access.Station:
		f.Stations = slices.Sorted(maps.Keys(sc.Stations))
		if f.Stations == nil {
			f.Stations = []string{}
		}
	case sc.Role == access.Org:
		if f.Orgs == nil {
			f.Orgs = slices.Sorted(maps.Keys(sc.Orgs))
			if f.Orgs == nil {
				f.Orgs = []string{}
			}
		}
	default:
		if f.Communities == nil {
			f.Communities = slices.Sorted(maps.Keys(sc.Areas))
			if f.Communities == nil {
				f.Communities = []string{}
			}
		}
	}
	return f, true
}

// exportName is the file name of an export: the leading part, the
// query's area, organisation and period, the extension.
func exportName(base string, q url.Values, ext string) string {
	name := base
	for _, k := range []string{"area", "org", "year", "from", "to"} {
		if v := q.Get(k); v != "" {
			name += "-" + v
		}
	}
	return name + "." + ext
}

func attach(w http.ResponseWriter, name, contentType string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename=%q; filename*=UTF-8''%s`, name, url.PathEscape(name)))
	w.Header().Set("Cache-Control", "no-store")
}

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// csvEncoding is r's encoding parameter, or false after answering 400.
func (a *api) csvEncoding(w http.ResponseWriter, r *http.Request) (string, bool) {
	switch enc := r.URL.Query().Get("encoding"); enc {
	case "", export.UTF8:
		return export.UTF8, true
	case export.GB18030:
		return enc, true
	}
	a.failReview(w, http.StatusBadRequest, "encoding: utf-8 or gb18030", "编码应为 utf-8 或 gb18030。", nil)
	return "", false
}

// exportRecords answers the service records in the national form. The
// file is built whole (the read guard holds the answer until its audit
// entry is written), so a failure midway is a 500, never half a file.
func (a *api) exportRecords(ext string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, ok := a.exportFilter(w, r)
		if !ok {
			return
		}
		var (
			sink interface {
				export.Sink
				Close() error
			}
			err error
		)
		name := exportName("service-records", r.URL.Query(), ext)
		if ext == "xlsx" {
			attach(w, name, xlsxType)
			sink, err = export.NewXLSX(w)
		} else {
			enc, ok := a.csvEncoding(w, r)
			if !ok {
				return
			}
			ct := "text/csv; charset=utf-8"
			if enc == export.GB18030 {
				ct = "text/csv; charset=gb18030"
			}
			attach(w, name, ct)
			sink, err = export.NewCSV(w, enc)
		}
		var sum export.Summary
		if err == nil {
			sum, err = export.ServiceRecords(r.Context(), a.f.Store, f, sink)
		}
		if err == nil {
			err = sink.Close()
		}
		if err != nil {
			a.exportFailed(w, "export service records", err)
			return
		}
		a.log.Info("export: service records", "query", r.URL.RawQuery, "exported", sum.Exported, "left_out", sum.LeftOut)
	}
}

// exportFailed answers 500 in place of what was written so far (the
// answer is held, so nothing has left).
func (a *api) exportFailed(w http.ResponseWriter, msg string, err error) {
	if h, ok := w.(*heldResponse); ok {
		h.body.Reset()
		h.header = http.Header{}
		h.code = 0
	}
	a.failInternal(w, msg, err)
}

// exportReport is the check of a service-record export without the
// rows: how many go out, and each left-out record with its reason (the
// report a CSV export has beside it).
func (a *api) exportReport(w http.ResponseWriter, r *http.Request) {
	f, ok := a.exportFilter(w, r)
	if !ok {
		return
	}
	rep := &export.Report{Left: []export.LeftOut{}}
	sum, err := export.ServiceRecords(r.Context(), a.f.Store, f, rep)
	if err != nil {
		a.failInternal(w, "export report", err)
		return
	}
	rep.Summary, rep.Hours = sum, export.Hours(sum.Cents)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(rep)
}

// exportStatistics answers the year's statistics per area below area
// (the city when none is given and the scope is the whole city).
func (a *api) exportStatistics(ext string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, sc, q := r.Context(), scopeOf(r), r.URL.Query()
		now := a.now()
		year := now.In(calendar.CST).Year()
		if y := q.Get("year"); y != "" {
			n, err := strconv.Atoi(y)
			if err != nil || n < 2000 || n > year {
				a.failReview(w, http.StatusBadRequest, "year: 2000 up to this year", fmt.Sprintf("年份应在2000年到%d年之间。", year), nil)
				return
			}
			year = n
		}
		area := q.Get("area")
		if area == "" {
			root, err := a.rootArea(r)
			if err != nil {
				a.failInternal(w, "statistics: areas", err)
				return
			}
			area = root
		}
		if area == "" || !sc.Area(area) {
			a.failReview(w, http.StatusNotFound, "no such area: "+area, "找不到这个区域，请检查区域编号。", nil)
			return
		}
		rows, err := export.Statistics(ctx, a.f.Store, area, year, now)
		switch {
		case errors.Is(err, export.ErrArea):
			a.failReview(w, http.StatusNotFound, "no such area: "+area, "找不到这个区域，请检查区域编号。", nil)
			return
		case err != nil:
			a.failInternal(w, "statistics", err)
			return
		}
		name := exportName("statistics", q, ext)
		if q.Get("year") == "" {
			name = exportName("statistics", url.Values{"area": {area}, "year": {strconv.Itoa(year)}}, ext)
		}
		var (
			buf bytes.Buffer
			ct  = xlsxType
		)
		if ext == "xlsx" {
			err = export.WriteStatsXLSX(&buf, rows)
		} else {
			enc, ok := a.csvEncoding(w, r)
			if !ok {
				return
			}
			ct = "text/csv; charset=" + enc
			err = export.WriteStatsCSV(&buf, enc, rows)
		}
		if err != nil {
			a.failInternal(w, "statistics", err)
			return
		}
		attach(w, name, ct)
		w.Write(buf.Bytes())
	}
}

// rootArea is the area r's user sees whole at the top: the city for the
// whole city, else the highest area in its scope whose parent it does
// not see ("" when none).
func (a *api) rootArea(r *http.Request) (string, error) {
	areas, err := a.f.Store.AllAreas(r.Context())
	if err != nil {
		return "", err
	}
	sc := scopeOf(r)
	for _, ar := range areas {
		if sc.Area(ar.Code) && (ar.Parent == "" || !sc.Area(ar.Parent)) {
			return ar.Code, nil
		}
	}
	return "", nil
}
