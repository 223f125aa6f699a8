package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// ErrUnknownStation is returned for a push or a command to a station that
// was never registered (`leifeng-cloud station add`).
var ErrUnknownStation = errors.New("fleet: station not registered")

// ErrRequired is wrapped by a RequiredError.
var ErrRequired = errors.New("fleet: a required part of the config would be empty")

// ErrBadPatch is returned for a pushed document that is not a JSON object
// of known config fields.
var ErrBadPatch = errors.New("fleet: bad config document")

// Required parts of a station's effective config: without a menu the
// kiosk's 服务菜单 and 需求登记 are dead ends, without a name its home
// screen says nothing about where it stands.
const (
	PartMenu = "menu"
	PartName = "profile.name"
)

// RequiredError says which station would lose which required part.
type RequiredError struct {
	Station string // "" for the fleet defaults alone
	Part    string // PartMenu or PartName
}

func (e *RequiredError) Error() string {
	what := map[string]string{PartMenu: "the service menu (menu)", PartName: "the station name (profile.name)"}[e.Part]
	return fmt.Sprintf("fleet: the push would leave %s of %s empty; keep it in the push or give one (%s)",
		what, orFleet(e.Station), e.Chinese())
}

// Chinese is the reason as the console shows it.
func (e *RequiredError) Chinese() string {
	what, harm := "服务菜单", "居民将无法浏览服务，也无法登记需求"
	if e.Part == PartName {
		what, harm = "站点名称", "屏幕上将不显示这是哪个服务站"
	}
	where := "全部站点默认配置"
	if e.Station != "" {
		where = "站点 " + e.Station + " "
	}
	return fmt.Sprintf("推送后%s的%s将为空，%s。请在推送内容中保留或填写%s后再推送。", where, what, harm, what)
}

func (e *RequiredError) Unwrap() error { return ErrRequired }

func orFleet(station string) string {
	if station == "" {
		return "the fleet defaults"
	}
	return "station " + station
}

// Known returns ErrUnknownStation unless station is registered.
func (s *Service) Known(ctx context.Context, station string) error {
	if !wire.ValidStationID(station) {
		return fmt.Errorf("%w: %q is not a station ID", ErrUnknownStation, station)
	}
	_, err := s.st.Registration(ctx, station)
	if errors.Is(err, store.ErrNotFound) {
		return UnknownStation(station)
	}
	return err
}

// UnknownStation is the error of a station that is not registered; the
// API answers a station out of the user's scope with it too, so that the
// two cannot be told apart.
func UnknownStation(station string) error {
	return fmt.Errorf("%w: %s (register it with `leifeng-cloud station add --id %s`)", ErrUnknownStation, station, station)
}

// Effective is what station runs once it has every config pushed: the
// built-in defaults, the fleet defaults over them and the station's own
// document over both (wire.MergeConfig, as the kiosk merges them). With
// station "" it is the fleet defaults over the built-in ones.
func (s *Service) Effective(ctx context.Context, station string) (*wire.Config, error) {
	fleetDoc, err := s.stored(ctx, FleetScope)
	if err != nil {
		return nil, err
	}
	if station == "" {
		return wire.MergeConfig(wire.DefaultConfig(), fleetDoc, nil), nil
	}
	if err := s.Known(ctx, station); err != nil {
		return nil, err
	}
	own, err := s.stored(ctx, StationScope(station))
	if err != nil {
		return nil, err
	}
	return wire.MergeConfig(wire.DefaultConfig(), fleetDoc, own), nil
}

// stored is the document last pushed on scope, or nil.
func (s *Service) stored(ctx context.Context, scope string) (*wire.Config, error) {
	d, err := s.st.Config(ctx, scope)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c := new(wire.Config)
	if err := json.Unmarshal(d.Doc, c); err != nil {
		return nil, fmt.Errorf("fleet: stored config %s: %w", scope, err)
	}
	return c, nil
}

// storedRaw is the document last pushed on scope as a JSON object.
func (s *Service) storedRaw(ctx context.Context, scope string) (map[string]any, error) {
	d, err := s.st.Config(ctx, scope)
	if errors.Is(err, store.ErrNotFound) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeObject(d.Doc)
}

func decodeObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // numbers pass through unchanged
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("%w: want a JSON object of config fields (menu, board, profile, …): %v", ErrBadPatch, err)
	}
	return m, nil
}

// mergePatch applies patch to target as JSON Merge Patch (RFC 7396):
// objects merge member by member, anything else (arrays too) replaces,
// null removes.
func mergePatch(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tm, ok := target.(map[string]any)
	if !ok {
		tm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(tm, k)
			continue
		}
		tm[k] = mergePatch(tm[k], v)
	}
	return tm
}

// setBy the cloud, whatever a pushed document says.
var setByCloud = []string{"v", "version", "station", "issued"}

// toConfig turns a merged document into a Config, refusing fields a
// config does not have (a typo such as "menus" would otherwise be dropped
// in silence).
func toConfig(m map[string]any) (*wire.Config, error) {
	for _, k := range setByCloud {
		delete(m, k)
	}
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	c := new(wire.Config)
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPatch, err)
	}
	c.V = wire.Version
	return c, nil
}

// names reports whether patch touches part: sets it, empties it or
// removes it.
func names(patch map[string]any, part string) bool {
	switch part {
	case PartMenu:
		_, ok := patch["menu"]
		return ok
	case PartName:
		p, ok := patch["profile"]
		if !ok {
			return false
		}
		pm, isObj := p.(map[string]any)
		if !isObj {
			return true // null or a non-object replaces the whole profile
		}
		_, ok = pm["name"]
		return ok
	}
	return false
}

func empty(c *wire.Config, part string) bool {
	switch part {
	case PartMenu:
		return len(c.Menu) == 0
	case PartName:
		return c.Profile == nil || strings.TrimSpace(c.Profile.Name) == ""
	}
	return false
}

// checkRequired refuses a change from before to after (effective configs)
// that empties a required part: one that had it before, or that the push
// named (so an explicit empty menu is refused even on a new station). A
// push that leaves alone a part still missing on a new station is let
// through: the station is being set up part by part.
func checkRequired(station string, patch map[string]any, replace bool, before, after *wire.Config) error {
	for _, part := range []string{PartName, PartMenu} {
		if empty(after, part) && (!empty(before, part) || replace || names(patch, part)) {
			return &RequiredError{Station: station, Part: part}
		}
	}
	return nil
}

// Refusal is how a person is told that a fleet request was refused: the
// HTTP status and the reason in Chinese (the console shows it, the API
// sends it as message_zh). A fault that is not a refusal is 500 and "".
func Refusal(err error) (int, string) {
	var req *RequiredError
	switch {
	case errors.Is(err, ErrUnknownStation):
		return http.StatusNotFound, "找不到这个站点：它尚未登记（leifeng-cloud station add），或站点编号、县区名称写错了。请核对后再试。"
	case errors.As(err, &req):
		return http.StatusUnprocessableEntity, req.Chinese()
	case errors.Is(err, ErrBadPatch), errors.Is(err, wire.ErrInvalid), errors.Is(err, wire.ErrTooLarge):
		return http.StatusBadRequest, "配置内容有误，未推送：" + err.Error()
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "找不到这条记录，请核对后再试。"
	}
	return http.StatusInternalServerError, ""
}
