package fleet

import (
	"context"
	"strings"
	"time"

	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// Command states, as CommandStatus reports them.
const (
	// CommandPending: sent, no answer from the kiosk yet, not expired.
	CommandPending = "pending"
	// CommandOK: the kiosk carried it out.
	CommandOK = "ok"
	// CommandFailed: the kiosk refused it (expired, replayed, bad
	// signature, …) or could not carry it out; Reason says why.
	CommandFailed = "failed"
	// CommandUnanswered: it expired without an answer (the kiosk was
	// offline, or runs a version that does not report commands).
	CommandUnanswered = "unanswered"
)

// CommandStatus is what became of a command.
type CommandStatus struct {
	Nonce   string    `json:"nonce"`
	Station string    `json:"station"`
	Name    string    `json:"name"`
	Sent    time.Time `json:"sent"`
	Expires time.Time `json:"expires"`
	Status  string    `json:"status"`
	// Reason is the kiosk's words for a failure, Outcome its whole report.
	Reason  string `json:"reason,omitempty"`
	Outcome string `json:"outcome,omitempty"`
	// Message is the status in Chinese, for the console.
	Message string `json:"message"`
}

// CommandStatus returns what became of the command with nonce sent to
// station (store.ErrNotFound for none).
func (s *Service) CommandStatus(ctx context.Context, station, nonce string) (*CommandStatus, error) {
	c, err := s.st.CommandByNonce(ctx, station, nonce)
	if err != nil {
		return nil, err
	}
	return s.status(ctx, c)
}

// Commands returns the last limit commands sent to station with what
// became of each, newest first.
func (s *Service) Commands(ctx context.Context, station string, limit int) ([]CommandStatus, error) {
	cs, err := s.st.Commands(ctx, station, limit)
	if err != nil {
		return nil, err
	}
	out := make([]CommandStatus, 0, len(cs))
	for i := range cs {
		st, err := s.status(ctx, &cs[i])
		if err != nil {
			return nil, err
		}
		out = append(out, *st)
	}
	return out, nil
}

func (s *Service) status(ctx context.Context, c *store.Command) (*CommandStatus, error) {
	st := &CommandStatus{Nonce: c.Nonce, Station: c.Station, Name: c.Name, Sent: c.Sent, Expires: c.Expires, Outcome: c.Outcome}
	switch out := c.Outcome; {
	case strings.HasPrefix(out, "refused: "):
		st.Status, st.Reason = CommandFailed, strings.TrimPrefix(out, "refused: ")
	case out == c.Name+": ok" || strings.HasPrefix(out, c.Name+": recorded "):
		st.Status = CommandOK
	case out != "":
		st.Status, st.Reason = CommandFailed, strings.TrimPrefix(out, c.Name+": ")
	case c.Name == wire.CmdReboot:
		// A kiosk obeying a reboot may exit before its report goes out:
		// coming back online after the command was sent is the answer.
		back, err := s.backOnline(ctx, c)
		if err != nil {
			return nil, err
		}
		if back {
			st.Status = CommandOK
			break
		}
		fallthrough
	default:
		st.Status = CommandPending
		if !s.Now().Before(c.Expires) {
			st.Status = CommandUnanswered
		}
	}
	st.Message = commandMessage(st)
	return st, nil
}

func (s *Service) backOnline(ctx context.Context, c *store.Command) (bool, error) {
	p, err := s.st.Presence(ctx, c.Station, 10)
	if err != nil {
		return false, err
	}
	wentOff := false
	// Newest first: an online after an offline, both after the command.
	for i := len(p) - 1; i >= 0; i-- {
		if p[i].At.Before(c.Sent) {
			continue
		}
		if !p[i].Online {
			wentOff = true
		} else if wentOff {
			return true, nil
		}
	}
	return false, nil
}

// commandMessage says in Chinese what became of a command and, for a
// failure, what to do next.
func commandMessage(st *CommandStatus) string {
	switch st.Status {
	case CommandOK:
		return "站点已执行指令 " + st.Name
	case CommandPending:
		return "指令已发出，等待站点回应（" + LocalTime(st.Expires) + " 前有效）"
	case CommandUnanswered:
		return "指令在 " + LocalTime(st.Expires) + " 过期前没有收到站点回应：站点可能离线，请检查网络后重新发送"
	}
	r := strings.ToLower(st.Reason)
	hint := "请检查站点状态后重新发送"
	switch {
	case strings.Contains(r, "expired"):
		hint = "指令已过期（站点离线太久或站点时钟不准），请核对站点时钟后重新发送"
	case strings.Contains(r, "replayed"):
		hint = "这是一条已执行过的指令被重复发送，站点拒绝了它；无需处理，如需再次执行请重新发送"
	case strings.Contains(r, "verify") || strings.Contains(r, "trusted"):
		hint = "指令签名无效，站点拒绝执行；请确认站点的配置密钥与云端一致"
	}
	return "站点拒绝或未能执行指令 " + st.Name + "：" + hint
}
