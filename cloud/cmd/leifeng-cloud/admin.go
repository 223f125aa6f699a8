package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"leifeng/cloud/access"
	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
	"leifeng/internal/cli"
)

// stdin is where `admin add` reads the initial password; a test replaces it.
var stdin io.Reader = os.Stdin

// dataFlags are --data and --db of the commands that open the database
// directly (import, admin, token).
type dataFlags struct{ data, db string }

func (d *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.data, "data", "leifeng-data", "directory of the cloud's data (the SQLite database)")
	fs.StringVar(&d.db, "db", "", "database DSN: postgres://... for PostgreSQL, sqlite:PATH for SQLite (default: SQLite under --data)")
}

// open opens the database --db names, or the SQLite database under --data.
func (d *dataFlags) open(ctx context.Context) (*store.Store, error) {
	dsn := d.db
	if dsn == "" {
		if err := os.MkdirAll(d.data, 0o750); err != nil {
			return nil, fmt.Errorf("--data %s: %w", d.data, err)
		}
		dsn = "sqlite:" + filepath.Join(d.data, "leifeng.db")
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("--db %s: %w", redact(dsn), err)
	}
	return st, nil
}

const adminUsage = `usage:
  leifeng-cloud admin add --user NAME --role city|county|station|org|auditor [--scope ID] [--data DIR | --db DSN]
  leifeng-cloud admin list [--data DIR | --db DSN]
  leifeng-cloud admin disable --user NAME [--data DIR | --db DSN]
  leifeng-cloud admin password --user NAME [--data DIR | --db DSN]

add creates a user directly in the database. The initial password is read
from standard input when it is not a terminal (one line), otherwise asked
twice without echo; the user must change it at the first sign-in. The
first user must be a city administrator. --scope is what the role is
limited to: a county's area code (county; auditor: any area code, or none
for the city), station IDs separated by commas (station), an organisation
ID (org); a city administrator has none. password gives a user who forgot
theirs a new initial password (read the same way), to be changed at the
next sign-in.
`

// adminCmd is `leifeng-cloud admin add|list|disable`.
func adminCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 0 {
			fmt.Fprint(stderr, adminUsage)
			return cli.Usagef("admin needs add, list, disable or password")
		}
		fmt.Fprint(stdout, adminUsage)
		return nil
	}
	fs := flag.NewFlagSet("leifeng-cloud admin "+args[0], flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	user := fs.String("user", "", "the user's name (what they sign in with)")
	fs.Usage = func() { fmt.Fprint(fs.Output(), adminUsage); fs.PrintDefaults() }
	switch args[0] {
	case "add":
		role := fs.String("role", "", "city, county, station, org or auditor")
		scope := fs.String("scope", "", "area code, station IDs (comma-separated) or organisation ID")
		if err := cli.Parse(fs, args[1:], stdout); err != nil {
			return err
		}
		r, err := access.ParseRole(*role)
		if err != nil || *user == "" {
			return cli.Usagef("admin add needs --user NAME and --role city|county|station|org|auditor")
		}
		st, err := d.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		return addUser(ctx, st, *user, r, *scope, stdout, stderr)
	case "list":
		if err := cli.Parse(fs, args[1:], stdout); err != nil {
			return err
		}
		st, err := d.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		us, err := st.Users(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tROLE\tSCOPE\tCREATED\tSTATE")
		for _, u := range us {
			state := "active"
			switch {
			case !u.Disabled.IsZero():
				state = "disabled " + fleet.LocalTime(u.Disabled)
			case u.MustChangePassword:
				state = "must change password"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, u.Scope, fleet.LocalTime(u.Created), state)
		}
		return tw.Flush()
	case "password":
		if err := cli.Parse(fs, args[1:], stdout); err != nil {
			return err
		}
		if *user == "" {
			return cli.Usagef("admin password needs --user NAME")
		}
		st, err := d.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		u, err := st.UserByName(ctx, *user)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("没有这个用户 / no user %q", *user)
		} else if err != nil {
			return err
		}
		hash, err := newInitialPassword(*user, stderr)
		if err != nil {
			return err
		}
		if err := st.SetPassword(ctx, u.ID, hash, true, time.Now()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s has a new initial password, to be changed at the next sign-in\n", *user)
		return nil
	case "disable":
		if err := cli.Parse(fs, args[1:], stdout); err != nil {
			return err
		}
		if *user == "" {
			return cli.Usagef("admin disable needs --user NAME")
		}
		st, err := d.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.DisableUser(ctx, *user, time.Now()); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("没有这个用户 / no user %q", *user)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s disabled: sessions and API tokens no longer work\n", *user)
		return nil
	}
	fmt.Fprint(stderr, adminUsage)
	return cli.Usagef("unknown admin command %q", args[0])
}

// newInitialPassword reads an initial password for the user called name,
// checks it against the rules and returns its hash.
func newInitialPassword(name string, prompt io.Writer) (string, error) {
	pw, err := readPassword(prompt)
	if err != nil {
		return "", err
	}
	if err := access.CheckNewPassword(name, pw); err != nil {
		var pe *access.PasswordError
		errors.As(err, &pe)
		return "", fmt.Errorf("%s / %s", pe.Zh, pe.En)
	}
	return access.HashPassword(pw)
}

// addUser reads the initial password and stores the user.
func addUser(ctx context.Context, st *store.Store, name string, role access.Role, scope string, stdout, stderr io.Writer) error {
	hash, err := newInitialPassword(name, stderr)
	if err != nil {
		return err
	}
	now := time.Now()
	_, err = st.AddUser(ctx, store.User{User: access.User{Name: name, Role: role, Scope: scope, MustChangePassword: true},
		PasswordHash: hash, Created: now})
	switch {
	case errors.Is(err, access.ErrFirstUserCity):
		return access.ErrFirstUserCity
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("用户 %s 已存在 / user %s exists already", name, name)
	case errors.Is(err, store.ErrUnknownScope):
		return fmt.Errorf("范围 --scope %q 不存在：县（区）管理员需要已导入的县区代码，站点管理员需要已登记的站点编号，组织管理员需要已导入的组织编号 / %w", scope, err)
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "user %s added as %s (%s); the password must be changed at the first sign-in\n", name, role, role.Zh())
	return nil
}

// readPassword reads the initial password: a line of standard input when
// it is not a terminal, otherwise asked twice without echo.
func readPassword(prompt io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(prompt, "初始密码 / initial password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		fmt.Fprint(prompt, "再输入一次 / again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("两次输入的密码不一致 / the passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", errors.New("请在标准输入中提供初始密码 / give the initial password on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

const tokenUsage = `usage:
  leifeng-cloud token create --user NAME [--name LABEL] [--data DIR | --db DSN]
  leifeng-cloud token list [--user NAME] [--data DIR | --db DSN]
  leifeng-cloud token revoke --id N [--data DIR | --db DSN]

create prints an API token acting with NAME's rights, once: keep it in a
file only its owner reads, and give it to the commands that call the API
with --token-file FILE or the environment variable LEIFENG_TOKEN; scripts
send it as "Authorization: Bearer TOKEN". The database keeps only its hash.
`

// tokenCmd is `leifeng-cloud token create|list|revoke`.
func tokenCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 0 {
			fmt.Fprint(stderr, tokenUsage)
			return cli.Usagef("token needs create, list or revoke")
		}
		fmt.Fprint(stdout, tokenUsage)
		return nil
	}
	fs := flag.NewFlagSet("leifeng-cloud token "+args[0], flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	fs.Usage = func() { fmt.Fprint(fs.Output(), tokenUsage); fs.PrintDefaults() }
	user := fs.String("user", "", "the user the token acts for")
	switch args[0] {
	case "create":
		label := fs.String("name", "", "what the token is for (shown by token list)")
		if err := cli.Parse(fs, args[1:], stdout); err != nil {
			return err
		}
		if *user == "" {
			return cli.Usagef("token create needs --user NAME")
		}
		st, err := d.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		tok, id, err := st.CreateToken(ctx, *user, *label, time.Now())
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("没有这个用户 / no user %q: create it with leifeng-cloud admin add", *user)
		} else if err != nil {
			return err
		}
		fmt.Fprintln(stdout, tok)
		fmt.Fprintf(stderr, "token %d for %s: shown only this once; revoke with leifeng-cloud token revoke --id %d\n", id, *user, id)
		return nil
	case "list":
		if err := cli.Parse(fs, args[1:], stdout); err != nil {
			return err
		}
		st, err := d.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		ts, err := st.Tokens(ctx, *user)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tNAME\tCREATED\tLAST USED\tREVOKED")
		for _, t := range ts {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.Name, fleet.LocalTime(t.Created), fleet.LocalTime(t.LastUsed), fleet.LocalTime(t.Revoked))
		}
		return tw.Flush()
	case "revoke":
		id := fs.String("id", "", "the token's ID (token list)")
		if err := cli.Parse(fs, args[1:], stdout); err != nil {
			return err
		}
		n, err := strconv.ParseInt(*id, 10, 64)
		if err != nil {
			return cli.Usagef("token revoke needs --id N (leifeng-cloud token list shows them)")
		}
		st, err := d.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.RevokeToken(ctx, n, time.Now()); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("没有这个令牌 / no token %d", n)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token %d revoked\n", n)
		return nil
	}
	fmt.Fprint(stderr, tokenUsage)
	return cli.Usagef("unknown token command %q", args[0])
}

// tokenEnv is the environment variable holding the API token of the
// commands that call the API.
const tokenEnv = "LEIFENG_TOKEN"

// apiToken is the token of the commands that call the API: the file
// --token-file names, or LEIFENG_TOKEN.
func apiToken(file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
		return "", fmt.Errorf("--token-file %s is empty", file)
	}
	if t := strings.TrimSpace(os.Getenv(tokenEnv)); t != "" {
		return t, nil
	}
	return "", errors.New("需要 API 令牌 / an API token is needed: create one with `leifeng-cloud token create --user NAME > token.txt` and give --token-file token.txt or " + tokenEnv)
}
