package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"leifeng/cloud/access"
)

// ErrUnknownScope is returned by AddUser for a scope that names no
// county, station or organisation the database knows.
var ErrUnknownScope = errors.New("store: unknown scope")

// User is a user as stored: the access.User the guard acts for, with the
// password hash and the account's history.
type User struct {
	access.User
	// PasswordHash is argon2id's PHC string, never the password.
	PasswordHash string
	Created      time.Time
	PasswordSet  time.Time
	// Disabled is when the user was disabled; zero while enabled.
	Disabled time.Time
}

// validUserName keeps names printable and short: they appear in logs and
// on the console.
func validUserName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, r := range n {
		if r <= ' ' || r == 0x7f || r == ',' {
			return false
		}
	}
	return true
}

// AddUser stores a new user and returns its ID. The first user of a
// database must be a city administrator (access.ErrFirstUserCity); a
// name taken is ErrExists; a scope the database does not know is
// ErrUnknownScope.
func (s *Store) AddUser(ctx context.Context, u User) (int64, error) {
	if !validUserName(u.Name) {
		return 0, fmt.Errorf("store: add user: name %q: 1 to 64 characters, no spaces or commas", u.Name)
	}
	if _, err := access.ParseRole(string(u.Role)); err != nil {
		return 0, err
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		return 0, errors.New("store: add user: the password must be an argon2id hash")
	}
	var id int64
	err := s.b.inTx(ctx, func(q querier) error {
		var n int64
		if err := q.query(ctx, `SELECT COUNT(*), COALESCE(MAX(id), 0) + 1 FROM users`, nil,
			func(r rows) error { return r.Scan(&n, &id) }); err != nil {
			return err
		}
		if n == 0 && u.Role != access.City {
			return access.ErrFirstUserCity
		}
		taken := false
		if err := q.query(ctx, `SELECT 1 FROM users WHERE name = $1`, []any{u.Name},
			func(rows) error { taken = true; return nil }); err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("%w: user %s", ErrExists, u.Name)
		}
		if err := checkScope(ctx, q, u.Role, u.Scope); err != nil {
			return err
		}
		now := nanos(u.Created)
		_, err := q.exec(ctx, `INSERT INTO users (id, name, role, scope, password_hash, must_change_password,
				created_ns, password_ns, disabled_ns) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 0)`,
			id, u.Name, string(u.Role), u.Scope, u.PasswordHash, u.MustChangePassword, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: add user %s: %w", u.Name, err)
	}
	return id, nil
}

// checkScope checks that scope names what role needs: nothing for the
// city, a county's area code, registered station IDs, an organisation's
// ID, or (auditor) nothing or an area code.
func checkScope(ctx context.Context, q querier, role access.Role, scope string) error {
	one := func(query, arg string) error {
		found := false
		if err := q.query(ctx, query, []any{arg}, func(rows) error { found = true; return nil }); err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: %s %q", ErrUnknownScope, role, arg)
		}
		return nil
	}
	switch role {
	case access.City:
		if scope != "" {
			return fmt.Errorf("%w: a city administrator has no scope", ErrUnknownScope)
		}
	case access.County:
		return one(`SELECT 1 FROM areas WHERE code = $1 AND level = 'county'`, scope)
	case access.Station:
		ids := (&access.User{Role: access.Station, Scope: scope}).Stations()
		if len(ids) == 0 {
			return fmt.Errorf("%w: a station manager needs station IDs", ErrUnknownScope)
		}
		for _, id := range ids {
			if err := one(`SELECT 1 FROM stations WHERE id = $1`, id); err != nil {
				return err
			}
		}
	case access.Org:
		return one(`SELECT 1 FROM organisations WHERE id = $1`, scope)
	case access.Auditor:
		if scope != "" {
			return one(`SELECT 1 FROM areas WHERE code = $1`, scope)
		}
	}
	return nil
}

const userCols = `id, name, role, scope, password_hash, must_change_password, created_ns, password_ns, disabled_ns`

func scanUser(r rows) (User, error) {
	var u User
	var role string
	var created, set, disabled int64
	err := r.Scan(&u.ID, &u.Name, &role, &u.Scope, &u.PasswordHash, &u.MustChangePassword, &created, &set, &disabled)
	u.Role = access.Role(role)
	u.Created, u.PasswordSet, u.Disabled = fromNanos(created), fromNanos(set), fromNanos(disabled)
	return u, err
}

func (s *Store) user(ctx context.Context, where string, arg any) (*User, error) {
	var out *User
	err := s.b.query(ctx, `SELECT `+userCols+` FROM users WHERE `+where, []any{arg}, func(r rows) error {
		u, err := scanUser(r)
		out = &u
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: user: %w", err)
	}
	if out == nil {
		return nil, ErrNotFound
	}
	return out, nil
}

// UserByName returns the user called name (disabled or not), or ErrNotFound.
func (s *Store) UserByName(ctx context.Context, name string) (*User, error) {
	return s.user(ctx, `name = $1`, name)
}

// UserByID returns the user with id, or ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id int64) (*User, error) {
	return s.user(ctx, `id = $1`, id)
}

// Users lists every user by name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	var out []User
	err := s.b.query(ctx, `SELECT `+userCols+` FROM users ORDER BY name`, nil, func(r rows) error {
		u, err := scanUser(r)
		out = append(out, u)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	return out, nil
}

// SetPassword replaces a user's password hash and whether it must be
// changed at the next sign-in.
func (s *Store) SetPassword(ctx context.Context, id int64, hash string, mustChange bool, now time.Time) error {
	if !strings.HasPrefix(hash, "$argon2id$") {
		return errors.New("store: set password: not an argon2id hash")
	}
	n, err := s.b.exec(ctx, `UPDATE users SET password_hash = $1, must_change_password = $2, password_ns = $3 WHERE id = $4`,
		hash, mustChange, nanos(now), id)
	if err != nil {
		return fmt.Errorf("store: set password: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// DisableUser disables the user called name: sign-ins, sessions and
// tokens stop working. Disabling twice keeps the first time.
func (s *Store) DisableUser(ctx context.Context, name string, now time.Time) error {
	n, err := s.b.exec(ctx, `UPDATE users SET disabled_ns = CASE WHEN disabled_ns = 0 THEN $1 ELSE disabled_ns END
		WHERE name = $2`, nanos(now), name)
	if err != nil {
		return fmt.Errorf("store: disable user: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Token is an API token as stored (never the token itself).
type Token struct {
	ID       int64
	User     string
	Name     string
	Created  time.Time
	LastUsed time.Time
	// Revoked is when it was revoked; zero while it works.
	Revoked time.Time
}

// TokenHash is what the database keeps of an API token. Tokens are 256
// random bits, so a plain SHA-256 is as good as a slow hash here.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokenPrefix starts every API token, so a leaked one is easy to
// recognise (and to search for in a repository).
const TokenPrefix = "lft_"

// CreateToken makes a new API token acting for the enabled user called
// name, stores its hash and returns the token, which is shown once.
func (s *Store) CreateToken(ctx context.Context, user, label string, now time.Time) (token string, id int64, err error) {
	u, err := s.UserByName(ctx, user)
	if err != nil {
		return "", 0, err
	}
	if !u.Disabled.IsZero() {
		return "", 0, fmt.Errorf("store: user %s is disabled", user)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", 0, err
	}
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	id, err = s.AddToken(ctx, u.ID, label, TokenHash(token), now)
	return token, id, err
}

// AddToken stores the hash of a new API token acting for user and returns
// its ID.
func (s *Store) AddToken(ctx context.Context, user int64, name, hash string, now time.Time) (int64, error) {
	var id int64
	err := s.b.inTx(ctx, func(q querier) error {
		if err := q.query(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM api_tokens`, nil,
			func(r rows) error { return r.Scan(&id) }); err != nil {
			return err
		}
		_, err := q.exec(ctx, `INSERT INTO api_tokens (id, hash, user_id, name, created_ns) VALUES ($1, $2, $3, $4, $5)`,
			id, hash, user, name, nanos(now))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: add token: %w", err)
	}
	return id, nil
}

// tokenUseEvery bounds the writes of last_used_ns: a script calling many
// times a minute updates it once.
const tokenUseEvery = time.Minute

// TokenUser returns the enabled user an unrevoked token acts for, or
// ErrNotFound, and notes the use.
func (s *Store) TokenUser(ctx context.Context, hash string, now time.Time) (*User, error) {
	var (
		out      *User
		id, used int64
	)
	err := s.b.query(ctx, `SELECT t.id, t.last_used_ns, u.id, u.name, u.role, u.scope, u.password_hash, u.must_change_password,
			u.created_ns, u.password_ns, u.disabled_ns
		FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.hash = $1 AND t.revoked_ns = 0 AND u.disabled_ns = 0`, []any{hash}, func(r rows) error {
		var u User
		var role string
		var created, set, disabled int64
		err := r.Scan(&id, &used, &u.ID, &u.Name, &role, &u.Scope, &u.PasswordHash, &u.MustChangePassword, &created, &set, &disabled)
		u.Role = access.Role(role)
		u.Created, u.PasswordSet, u.Disabled = fromNanos(created), fromNanos(set), fromNanos(disabled)
		out = &u
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: token: %w", err)
	}
	if out == nil {
		return nil, ErrNotFound
	}
	if nanos(now)-used >= int64(tokenUseEvery) {
		if _, err := s.b.exec(ctx, `UPDATE api_tokens SET last_used_ns = $1 WHERE id = $2`, nanos(now), id); err != nil {
			return nil, fmt.Errorf("store: token use: %w", err)
		}
	}
	return out, nil
}

// Tokens lists the API tokens, of one user when user is not empty.
func (s *Store) Tokens(ctx context.Context, user string) ([]Token, error) {
	var out []Token
	err := s.b.query(ctx, `SELECT t.id, u.name, t.name, t.created_ns, t.last_used_ns, t.revoked_ns
		FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE $1 = '' OR u.name = $1 ORDER BY t.id`, []any{user}, func(r rows) error {
		var t Token
		var created, used, revoked int64
		err := r.Scan(&t.ID, &t.User, &t.Name, &created, &used, &revoked)
		t.Created, t.LastUsed, t.Revoked = fromNanos(created), fromNanos(used), fromNanos(revoked)
		out = append(out, t)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	return out, nil
}

// RevokeToken revokes the token with id; it stops working at once.
func (s *Store) RevokeToken(ctx context.Context, id int64, now time.Time) error {
	n, err := s.b.exec(ctx, `UPDATE api_tokens SET revoked_ns = CASE WHEN revoked_ns = 0 THEN $1 ELSE revoked_ns END
		WHERE id = $2`, nanos(now), id)
	if err != nil {
		return fmt.Errorf("store: revoke token: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Sessions is the console's session store for alexedwards/scs (its Store
// interface): sessions live in the database, so a restart of the cloud
// logs nobody out, and several cloud processes share them. Only the
// SHA-256 of the session token is kept, so a copy of the database does
// not hold a usable cookie.
type Sessions struct {
	S *Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (ss Sessions) now() time.Time {
	if ss.Now != nil {
		return ss.Now()
	}
	return time.Now()
}

// Find returns the data of an unexpired session.
func (ss Sessions) Find(token string) ([]byte, bool, error) {
	return ss.FindCtx(context.Background(), token)
}

// Commit stores a session's data until expiry.
func (ss Sessions) Commit(token string, b []byte, expiry time.Time) error {
	return ss.CommitCtx(context.Background(), token, b, expiry)
}

// Delete removes a session.
func (ss Sessions) Delete(token string) error { return ss.DeleteCtx(context.Background(), token) }

// FindCtx is Find with a context (scs's CtxStore).
func (ss Sessions) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var data string
	found := false
	err := ss.S.b.query(ctx, `SELECT data FROM web_sessions WHERE token_hash = $1 AND expiry_ns > $2`,
		[]any{TokenHash(token), nanos(ss.now())}, func(r rows) error { found = true; return r.Scan(&data) })
	if err != nil || !found {
		return nil, false, err
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, false, fmt.Errorf("store: session data: %w", err)
	}
	return b, true, nil
}

// CommitCtx is Commit with a context. Expired sessions are removed on the
// way, so the table holds the live ones and no goroutine is needed.
func (ss Sessions) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	return ss.S.b.inTx(ctx, func(q querier) error {
		if _, err := q.exec(ctx, `DELETE FROM web_sessions WHERE expiry_ns <= $1`, nanos(ss.now())); err != nil {
			return err
		}
		_, err := q.exec(ctx, `INSERT INTO web_sessions (token_hash, data, expiry_ns) VALUES ($1, $2, $3)
			ON CONFLICT (token_hash) DO UPDATE SET data = excluded.data, expiry_ns = excluded.expiry_ns`,
			TokenHash(token), base64.StdEncoding.EncodeToString(b), nanos(expiry))
		return err
	})
}

// DeleteCtx is Delete with a context.
func (ss Sessions) DeleteCtx(ctx context.Context, token string) error {
	_, err := ss.S.b.exec(ctx, `DELETE FROM web_sessions WHERE token_hash = $1`, TokenHash(token))
	return err
}
