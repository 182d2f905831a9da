// docker-machine-driver-gotest is a docker-machine driver plugin for berth's end-to-end tests,
// written from docker-machine 0.16.2's plugin contract with Go's standard library alone, so that
// CI (where docker-machine's source is not available) can prove berth's host for Go driver
// plugins against a real net/rpc + gob server.
//
// What it serves is what libmachine's server serves (drivers/plugin/register_driver.go,
// drivers/rpc/server_driver.go, mcnflag/flag.go):
//
//   - without MACHINE_PLUGIN_TOKEN=42 it prints libmachine's "This is a Docker Machine plugin
//     binary." text to stderr and exits 1;
//   - it listens on 127.0.0.1:0, prints the address as the first line of stdout, serves net/rpc
//     over HTTP CONNECT on the default path /_goRPC_ (rpc.HandleHTTP), under both service
//     names (RPCServerDriver and the old RpcServerDriver);
//   - every RPCServerDriver method with its argument and reply types, the flags as gob
//     interface values under libmachine's registered names (*mcnflag.StringFlag …), the
//     flag values as *rpcdriver.RPCFlags;
//   - it exits when no Heartbeat came for 10 s, and at Close.
//
// The machine it "makes" is a host the test already booted (flags --gotest-ip-address,
// --gotest-ssh-user, --gotest-ssh-key, --gotest-ssh-port, as the generic driver's). Create
// copies the SSH key into StorePath/machines/NAME/ as libmachine drivers do. "Power" is
// emulated over SSH with the system ssh client: stop and kill stop the host's docker service and
// leave a marker file, start and restart start it again; the state reported is the marker's (a
// host that does not answer SSH is Stopped, as for the generic driver). `systemctl poweroff` is
// not used: it is not safe on the nspawn test hosts.
//
// Test hooks, all from the environment (which the plugin inherits from its host):
//
//	GOTEST_CALL_LOG=FILE        appends one line per RPC call (not Heartbeat); the line of
//	                            SetConfigFromFlags lists every flag received with its Go type,
//	                            SetConfigRaw's the machine name, store path, address and key path
//	GOTEST_MISBEHAVE=KIND:METHOD[,KIND:METHOD…]   on METHOD (e.g. Create, GetState, * for all):
//	    hang       never answer (heartbeats are still served, so the process stays alive)
//	    exit       exit with status 3 in the middle of the call
//	    huge       answer with an error text of GOTEST_HUGE_BYTES bytes (default 64 MiB)
//	    hugereply  a string or []byte reply of GOTEST_HUGE_BYTES bytes (other methods: huge)
//	    malformed  a response header followed by bytes that are not gob, connection kept open
//	    flood      a gob length prefix of about 1 GiB followed by an endless stream of zeros
//	    noisy      write terminal escapes and a 1 MiB line to stderr, then answer normally
//	GOTEST_ADDRESS_LINE=TEXT    print TEXT (with {port} replaced by the real port) as the address
//	                            line instead of the listener's address
//	GOTEST_SERVICE=V0           register only the old service name RpcServerDriver
package main

import (
	"bufio"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The names libmachine's server registers its types under (gob.Register(new(T)) names a pointer
// type "*" + the package's last element + "." + the type's name: encoding/gob's Register keeps
// that short form for compatibility). Interface values on the wire carry these names.
const (
	nameIntFlag         = "*mcnflag.IntFlag"
	nameStringFlag      = "*mcnflag.StringFlag"
	nameStringSliceFlag = "*mcnflag.StringSliceFlag"
	nameBoolFlag        = "*mcnflag.BoolFlag"
	nameRPCFlags        = "*rpcdriver.RPCFlags"
)

const (
	pluginEnvKey = "MACHINE_PLUGIN_TOKEN"
	pluginEnvVal = "42"
	// libmachine's version.APIVersion.
	apiVersion = 1
	// register_driver.go: the plugin exits when no heartbeat came for this long.
	heartbeatTimeout = 10 * time.Second
	// Where on the host the emulated power state lives.
	markerDir    = "/var/lib/gotest"
	poweredOff   = markerDir + "/powered-off"
	defaultHuge  = 64 << 20
	sshTimeout   = 10 * time.Second
	driverName   = "gotest"
	defaultPort  = 2376
	defaultSSH   = 22
	defaultUser  = "root"
	serviceNewV1 = "RPCServerDriver"
	serviceOldV0 = "RpcServerDriver"
)

// State is libmachine's state.State (an int on the wire).
type State int

// libmachine/state/state.go, in its order.
const (
	StateNone State = iota
	StateRunning
	StatePaused
	StateSaved
	StateStopped
	StateStopping
	StateStarting
	StateError
	StateTimeout
)

// Flag is mcnflag.Flag.
type Flag interface {
	String() string
	Default() interface{}
}

// StringFlag is mcnflag.StringFlag: gob matches struct fields by name, so the same field names
// decode on the client as libmachine's own type.
type StringFlag struct {
	Name   string
	Usage  string
	EnvVar string
	Value  string
}

func (f StringFlag) String() string       { return f.Name }
func (f StringFlag) Default() interface{} { return f.Value }

// StringSliceFlag is mcnflag.StringSliceFlag.
type StringSliceFlag struct {
	Name   string
	Usage  string
	EnvVar string
	Value  []string
}

func (f StringSliceFlag) String() string       { return f.Name }
func (f StringSliceFlag) Default() interface{} { return f.Value }

// IntFlag is mcnflag.IntFlag.
type IntFlag struct {
	Name   string
	Usage  string
	EnvVar string
	Value  int
}

func (f IntFlag) String() string       { return f.Name }
func (f IntFlag) Default() interface{} { return f.Value }

// BoolFlag is mcnflag.BoolFlag (no Value: its default is nil, which docker-machine sends as false).
type BoolFlag struct {
	Name   string
	Usage  string
	EnvVar string
}

func (f BoolFlag) String() string       { return f.Name }
func (f BoolFlag) Default() interface{} { return nil }

// DriverOptions is drivers.DriverOptions: what SetConfigFromFlags receives (an interface value
// whose concrete type is RPCFlags).
type DriverOptions interface {
	String(key string) string
	StringSlice(key string) []string
	Int(key string) int
	Bool(key string) bool
}

// RPCFlags is rpcdriver.RPCFlags.
type RPCFlags struct {
	Values map[string]interface{}
}

func (r RPCFlags) get(key string) interface{} {
	v, ok := r.Values[key]
	if !ok {
		// libmachine warns the same way (on stderr, a debug line on the client).
		fmt.Fprintf(os.Stderr, "Trying to access option %s which does not exist\n", key)
	}
	return v
}

func (r RPCFlags) String(key string) string        { v, _ := r.get(key).(string); return v }
func (r RPCFlags) StringSlice(key string) []string { v, _ := r.get(key).([]string); return v }
func (r RPCFlags) Int(key string) int              { v, _ := r.get(key).(int); return v }
func (r RPCFlags) Bool(key string) bool            { v, _ := r.get(key).(bool); return v }

func init() {
	gob.RegisterName(nameRPCFlags, new(RPCFlags))
	gob.RegisterName(nameIntFlag, new(IntFlag))
	gob.RegisterName(nameStringFlag, new(StringFlag))
	gob.RegisterName(nameStringSliceFlag, new(StringSliceFlag))
	gob.RegisterName(nameBoolFlag, new(BoolFlag))
}

// BaseDriver is drivers.BaseDriver; embedded, its fields are the first of the JSON config, as
// in every libmachine driver.
type BaseDriver struct {
	IPAddress      string
	MachineName    string
	SSHUser        string
	SSHPort        int
	SSHKeyPath     string
	StorePath      string
	SwarmMaster    bool
	SwarmHost      string
	SwarmDiscovery string
}

// Driver is this driver's state: what GetConfigRaw returns and SetConfigRaw takes back.
type Driver struct {
	*BaseDriver
	EnginePort int
	SSHKey     string
	// AccessToken stands for a cloud secret (as amazonec2's AccessKey): it is in the
	// GetConfigRaw JSON, and a host must not print it.
	AccessToken  string
	Labels       []string
	SkipSSHCheck bool
}

func newDriver() *Driver {
	return &Driver{EnginePort: defaultPort, BaseDriver: &BaseDriver{}}
}

func (d *Driver) resolveStorePath(file string) string {
	return filepath.Join(d.StorePath, "machines", d.MachineName, file)
}

func (d *Driver) sshUser() string {
	if d.SSHUser == "" {
		return defaultUser
	}
	return d.SSHUser
}

func (d *Driver) sshPort() int {
	if d.SSHPort == 0 {
		return defaultSSH
	}
	return d.SSHPort
}

func (d *Driver) sshKeyPath() string {
	if d.SSHKeyPath == "" {
		return d.resolveStorePath("id_rsa")
	}
	return d.SSHKeyPath
}

func (d *Driver) createFlags() []Flag {
	return []Flag{
		StringFlag{Name: "gotest-ip-address", Usage: "IP address of the test host", EnvVar: "GOTEST_IP_ADDRESS"},
		StringFlag{Name: "gotest-ssh-user", Usage: "SSH user", Value: defaultUser, EnvVar: "GOTEST_SSH_USER"},
		StringFlag{Name: "gotest-ssh-key", Usage: "SSH private key path", EnvVar: "GOTEST_SSH_KEY"},
		IntFlag{Name: "gotest-ssh-port", Usage: "SSH port", Value: defaultSSH, EnvVar: "GOTEST_SSH_PORT"},
		IntFlag{Name: "gotest-engine-port", Usage: "Docker engine port", Value: defaultPort, EnvVar: "GOTEST_ENGINE_PORT"},
		// The environment twin is not derived from the flag's name (as amazonec2's
		// --amazonec2-access-key reads AWS_ACCESS_KEY_ID).
		StringFlag{Name: "gotest-access-token", Usage: "A secret the driver keeps in its config", EnvVar: "GOTEST_TOKEN"},
		StringSliceFlag{Name: "gotest-label", Usage: "Labels of the test machine", Value: []string{"tier=test"}, EnvVar: "GOTEST_LABELS"},
		BoolFlag{Name: "gotest-skip-ssh-check", Usage: "Skip the SSH port check before create", EnvVar: "GOTEST_SKIP_SSH_CHECK"},
	}
}

func (d *Driver) setConfigFromFlags(flags DriverOptions) error {
	d.IPAddress = flags.String("gotest-ip-address")
	d.SSHUser = flags.String("gotest-ssh-user")
	d.SSHKey = flags.String("gotest-ssh-key")
	d.SSHPort = flags.Int("gotest-ssh-port")
	d.EnginePort = flags.Int("gotest-engine-port")
	d.AccessToken = flags.String("gotest-access-token")
	d.Labels = flags.StringSlice("gotest-label")
	d.SkipSSHCheck = flags.Bool("gotest-skip-ssh-check")
	if d.IPAddress == "" {
		return errors.New("gotest driver requires the --gotest-ip-address option")
	}
	return nil
}

func (d *Driver) preCreateCheck() error {
	if d.SSHKey != "" {
		if _, err := os.Stat(d.SSHKey); os.IsNotExist(err) {
			return fmt.Errorf("SSH key does not exist: %q", d.SSHKey)
		}
	}
	if !d.SkipSSHCheck {
		addr := net.JoinHostPort(d.IPAddress, strconv.Itoa(d.sshPort()))
		conn, err := net.DialTimeout("tcp", addr, sshTimeout)
		if err != nil {
			return fmt.Errorf("the test host's SSH port %s does not answer: %s", addr, err)
		}
		conn.Close()
	}
	return nil
}

func (d *Driver) create() error {
	if d.SSHKey != "" {
		// Info lines go to stdout, debug lines to stderr, as libmachine's logger does in a plugin.
		fmt.Println("Importing SSH key...")
		d.SSHKeyPath = d.resolveStorePath(filepath.Base(d.SSHKey))
		// As the generic driver: the machine's folder exists (the host made it), this driver
		// does not make it.
		if err := copyFile(d.SSHKey, d.SSHKeyPath); err != nil {
			return fmt.Errorf("unable to copy ssh key: %s", err)
		}
		if err := copyFile(d.SSHKey+".pub", d.SSHKeyPath+".pub"); err != nil {
			fmt.Printf("Couldn't copy SSH public key : %s\n", err)
		}
	}
	fmt.Fprintf(os.Stderr, "IP: %s\n", d.IPAddress)
	_, err := d.ssh(fmt.Sprintf("mkdir -p %s && rm -f %s && echo %s > %s/created",
		markerDir, poweredOff, shellQuote(d.MachineName), markerDir))
	return err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ssh runs a command on the host with the system ssh client (as libmachine's "external" SSH
// client does); commands run through sudo unless the user is root.
func (d *Driver) ssh(command string) (string, error) {
	if d.sshUser() != "root" {
		command = "sudo sh -c " + shellQuote(command)
	}
	cmd := exec.Command("ssh",
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=quiet",
		"-o", fmt.Sprintf("ConnectTimeout=%d", int(sshTimeout.Seconds())),
		"-o", "IdentitiesOnly=yes",
		"-i", d.sshKeyPath(),
		"-p", strconv.Itoa(d.sshPort()),
		d.sshUser()+"@"+d.IPAddress,
		"--", command)
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ssh command %q on %s failed: %s: %s", command, d.IPAddress, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

func (d *Driver) getState() (State, error) {
	if d.IPAddress == "" {
		return StateNone, nil
	}
	addr := net.JoinHostPort(d.IPAddress, strconv.Itoa(d.sshPort()))
	conn, err := net.DialTimeout("tcp", addr, sshTimeout)
	if err != nil {
		return StateStopped, nil
	}
	conn.Close()
	out, err := d.ssh(fmt.Sprintf("if [ -e %s ]; then echo off; else echo on; fi", poweredOff))
	if err != nil {
		return StateError, err
	}
	if strings.TrimSpace(out) == "off" {
		return StateStopped, nil
	}
	return StateRunning, nil
}

func (d *Driver) getURL() (string, error) {
	s, err := d.getState()
	if err != nil {
		return "", err
	}
	if s != StateRunning {
		// drivers.MustBeRunning's error.
		return "", errors.New("Host is not running")
	}
	return fmt.Sprintf("tcp://%s", net.JoinHostPort(d.IPAddress, strconv.Itoa(d.EnginePort))), nil
}

const startEngine = "systemctl reset-failed docker.service docker.socket 2>/dev/null; " +
	"if systemctl cat docker.socket >/dev/null 2>&1; then systemctl start docker.socket; fi; " +
	"if systemctl cat docker.service >/dev/null 2>&1; then systemctl start docker.service; fi"

func (d *Driver) start() error {
	_, err := d.ssh(fmt.Sprintf("rm -f %s && %s", poweredOff, startEngine))
	return err
}

func (d *Driver) stop() error {
	_, err := d.ssh(fmt.Sprintf("mkdir -p %s && touch %s && systemctl stop docker.socket docker.service 2>/dev/null; true", markerDir, poweredOff))
	return err
}

func (d *Driver) kill() error {
	_, err := d.ssh(fmt.Sprintf("mkdir -p %s && touch %s && systemctl kill -s KILL docker.service 2>/dev/null; systemctl stop docker.socket docker.service 2>/dev/null; true", markerDir, poweredOff))
	return err
}

func (d *Driver) restart() error {
	_, err := d.ssh(fmt.Sprintf("rm -f %s && systemctl stop docker.service docker.socket 2>/dev/null; %s", poweredOff, startEngine))
	return err
}

// remove "destroys" the machine: the key copies it made go, and the host is marked removed.
func (d *Driver) remove() error {
	// The host first, while the key that reaches it is still there.
	if d.IPAddress != "" {
		if _, err := d.ssh(fmt.Sprintf("mkdir -p %s && echo %s > %s/removed", markerDir, shellQuote(d.MachineName), markerDir)); err != nil {
			// A cloud driver whose VM is already gone removes nothing and succeeds.
			fmt.Fprintf(os.Stderr, "the host did not answer; nothing to remove there: %s\n", err)
		}
	}
	if d.SSHKey != "" && d.SSHKeyPath != "" {
		for _, p := range []string{d.SSHKeyPath, d.SSHKeyPath + ".pub"} {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	return nil
}

// misbehaviour is what GOTEST_MISBEHAVE asks of one method.
type misbehaviour string

func misbehaviourFor(method string) misbehaviour {
	for _, item := range strings.Split(os.Getenv("GOTEST_MISBEHAVE"), ",") {
		kind, m, ok := strings.Cut(strings.TrimSpace(item), ":")
		if ok && (m == method || m == "*") {
			return misbehaviour(kind)
		}
	}
	return ""
}

func hugeBytes() int {
	if n, err := strconv.Atoi(os.Getenv("GOTEST_HUGE_BYTES")); err == nil && n > 0 {
		return n
	}
	return defaultHuge
}

// RPCServerDriver is the service, with libmachine's method set and signatures.
type RPCServerDriver struct {
	mu          sync.Mutex
	d           *Driver
	CloseCh     chan bool
	HeartbeatCh chan bool
}

// enter logs the call and plays the misbehaviour asked for; it returns the error to answer with
// (huge), or nil to go on.
func (r *RPCServerDriver) enter(method string, detail string) error {
	if path := os.Getenv("GOTEST_CALL_LOG"); path != "" {
		line := method
		if detail != "" {
			line += " " + detail
		}
		if f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0600); err == nil {
			fmt.Fprintln(f, line)
			f.Close()
		}
	}
	switch misbehaviourFor(method) {
	case "hang":
		fmt.Fprintf(os.Stderr, "gotest: %s will never answer (GOTEST_MISBEHAVE)\n", method)
		select {}
	case "exit":
		fmt.Fprintf(os.Stderr, "gotest: exiting in the middle of %s (GOTEST_MISBEHAVE)\n", method)
		os.Exit(3)
	case "huge":
		return errors.New(strings.Repeat("x", hugeBytes()))
	case "hugereply":
		if !stringMethods[method] {
			return errors.New(strings.Repeat("x", hugeBytes()))
		}
	case "noisy":
		fmt.Fprintf(os.Stderr, "gotest: \x1b[31mred\x1b[0m \x1b]0;title\x07 bell\r\n")
		fmt.Fprintln(os.Stderr, strings.Repeat("n", 1<<20))
	}
	return nil
}

// stringMethods are the methods whose reply is a string or bytes: hugereply makes that reply huge.
var stringMethods = map[string]bool{
	"GetConfigRaw": true, "DriverName": true, "GetIP": true, "GetMachineName": true,
	"GetSSHHostname": true, "GetSSHKeyPath": true, "GetSSHUsername": true, "GetURL": true,
}

// hugeString is the reply of a string method under hugereply.
func hugeString(method string) (string, bool) {
	if misbehaviourFor(method) == "hugereply" {
		return strings.Repeat("y", hugeBytes()), true
	}
	return "", false
}

func (r *RPCServerDriver) Close(_, _ *struct{}) error {
	_ = r.enter("Close", "")
	r.CloseCh <- true
	return nil
}

func (r *RPCServerDriver) GetVersion(_ *struct{}, reply *int) error {
	if err := r.enter("GetVersion", ""); err != nil {
		return err
	}
	*reply = apiVersion
	return nil
}

func (r *RPCServerDriver) GetConfigRaw(_ *struct{}, reply *[]byte) error {
	if err := r.enter("GetConfigRaw", ""); err != nil {
		return err
	}
	if s, ok := hugeString("GetConfigRaw"); ok {
		*reply = []byte(s)
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	data, err := json.Marshal(r.d)
	if err != nil {
		return err
	}
	*reply = data
	return nil
}

func (r *RPCServerDriver) GetCreateFlags(_ *struct{}, reply *[]Flag) error {
	if err := r.enter("GetCreateFlags", ""); err != nil {
		return err
	}
	*reply = r.d.createFlags()
	return nil
}

func (r *RPCServerDriver) SetConfigRaw(data []byte, _ *struct{}) error {
	// The call log shows what came back (no secret): a later process works only if the host
	// handed the config back.
	detail := ""
	var peek Driver
	if json.Unmarshal(data, &peek) == nil && peek.BaseDriver != nil {
		detail = fmt.Sprintf("MachineName=%s StorePath=%s IPAddress=%s SSHKeyPath=%s",
			peek.MachineName, peek.StorePath, peek.IPAddress, peek.SSHKeyPath)
	}
	if err := r.enter("SetConfigRaw", detail); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return json.Unmarshal(data, r.d)
}

func (r *RPCServerDriver) Create(_, _ *struct{}) error {
	if err := r.enter("Create", ""); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.d.create()
}

func (r *RPCServerDriver) DriverName(_ *struct{}, reply *string) error {
	if err := r.enter("DriverName", ""); err != nil {
		return err
	}
	if s, ok := hugeString("DriverName"); ok {
		*reply = s
		return nil
	}
	*reply = driverName
	return nil
}

func (r *RPCServerDriver) stringCall(method string, reply *string, f func() (string, error)) error {
	if err := r.enter(method, ""); err != nil {
		return err
	}
	if s, ok := hugeString(method); ok {
		*reply = s
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	v, err := f()
	*reply = v
	return err
}

func (r *RPCServerDriver) GetIP(_ *struct{}, reply *string) error {
	return r.stringCall("GetIP", reply, func() (string, error) {
		if r.d.IPAddress == "" {
			return "", errors.New("IP address is not set")
		}
		return r.d.IPAddress, nil
	})
}

func (r *RPCServerDriver) GetMachineName(_ *struct{}, reply *string) error {
	return r.stringCall("GetMachineName", reply, func() (string, error) { return r.d.MachineName, nil })
}

func (r *RPCServerDriver) GetSSHHostname(_ *struct{}, reply *string) error {
	return r.stringCall("GetSSHHostname", reply, func() (string, error) {
		if r.d.IPAddress == "" {
			return "", errors.New("IP address is not set")
		}
		return r.d.IPAddress, nil
	})
}

func (r *RPCServerDriver) GetSSHKeyPath(_ *struct{}, reply *string) error {
	return r.stringCall("GetSSHKeyPath", reply, func() (string, error) { return r.d.sshKeyPath(), nil })
}

func (r *RPCServerDriver) GetSSHPort(_ *struct{}, reply *int) error {
	if err := r.enter("GetSSHPort", ""); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	*reply = r.d.sshPort()
	return nil
}

func (r *RPCServerDriver) GetSSHUsername(_ *struct{}, reply *string) error {
	return r.stringCall("GetSSHUsername", reply, func() (string, error) { return r.d.sshUser(), nil })
}

func (r *RPCServerDriver) GetURL(_ *struct{}, reply *string) error {
	return r.stringCall("GetURL", reply, r.d.getURL)
}

func (r *RPCServerDriver) GetState(_ *struct{}, reply *State) error {
	if err := r.enter("GetState", ""); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s, err := r.d.getState()
	*reply = s
	return err
}

func (r *RPCServerDriver) call(method string, f func() error) error {
	if err := r.enter(method, ""); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return f()
}

func (r *RPCServerDriver) Kill(_ *struct{}, _ *struct{}) error {
	return r.call("Kill", r.d.kill)
}

func (r *RPCServerDriver) PreCreateCheck(_ *struct{}, _ *struct{}) error {
	return r.call("PreCreateCheck", r.d.preCreateCheck)
}

func (r *RPCServerDriver) Remove(_ *struct{}, _ *struct{}) error {
	return r.call("Remove", r.d.remove)
}

func (r *RPCServerDriver) Restart(_ *struct{}, _ *struct{}) error {
	return r.call("Restart", r.d.restart)
}

func (r *RPCServerDriver) SetConfigFromFlags(flags *DriverOptions, _ *struct{}) error {
	detail := ""
	if rf, ok := (*flags).(*RPCFlags); ok {
		var items []string
		for k, v := range rf.Values {
			items = append(items, fmt.Sprintf("%s=%T", k, v))
		}
		sort.Strings(items)
		detail = strings.Join(items, " ")
	}
	if err := r.enter("SetConfigFromFlags", detail); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.d.setConfigFromFlags(*flags)
}

func (r *RPCServerDriver) Start(_ *struct{}, _ *struct{}) error {
	return r.call("Start", r.d.start)
}

func (r *RPCServerDriver) Stop(_ *struct{}, _ *struct{}) error {
	return r.call("Stop", r.d.stop)
}

func (r *RPCServerDriver) Heartbeat(_ *struct{}, _ *struct{}) error {
	r.HeartbeatCh <- true
	return nil
}

// The HTTP CONNECT handshake of net/rpc (rpc.HandleHTTP's), for the misbehaviours that need the
// connection itself: the standard server is used otherwise.
const connected = "200 Connected to Go RPC"

type rawHandler struct{ server *rpc.Server }

func (h rawHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != "CONNECT" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusMethodNotAllowed)
		io.WriteString(w, "405 must CONNECT\n")
		return
	}
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	io.WriteString(conn, "HTTP/1.0 "+connected+"\n\n")
	buf := bufio.NewWriter(conn)
	h.server.ServeCodec(&codec{
		rwc:    conn,
		dec:    gob.NewDecoder(conn),
		enc:    gob.NewEncoder(buf),
		encBuf: buf,
	})
}

// codec is net/rpc's gobServerCodec, which can break its replies on purpose.
type codec struct {
	mu     sync.Mutex
	rwc    io.ReadWriteCloser
	dec    *gob.Decoder
	enc    *gob.Encoder
	encBuf *bufio.Writer
}

func (c *codec) ReadRequestHeader(r *rpc.Request) error { return c.dec.Decode(r) }
func (c *codec) ReadRequestBody(body interface{}) error { return c.dec.Decode(body) }

func (c *codec) WriteResponse(r *rpc.Response, body interface{}) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	method := r.ServiceMethod[strings.LastIndex(r.ServiceMethod, ".")+1:]
	switch misbehaviourFor(method) {
	case "malformed":
		if err := c.enc.Encode(r); err != nil {
			return err
		}
		// A message of 6 bytes that is no gob type id and no value.
		c.encBuf.Write([]byte{0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		c.encBuf.Flush()
		select {} // keep the connection open: the client must not need EOF to notice
	case "flood":
		// A length prefix of 0x3fffffff (gob's unsigned int: a byte count, then big-endian).
		c.encBuf.Write([]byte{0xfc, 0x3f, 0xff, 0xff, 0xff})
		zeros := make([]byte, 64<<10)
		for {
			if _, err := c.encBuf.Write(zeros); err != nil {
				return err
			}
		}
	}
	if err := c.enc.Encode(r); err != nil {
		return err
	}
	if err := c.enc.Encode(body); err != nil {
		return err
	}
	return c.encBuf.Flush()
}

func (c *codec) Close() error { return c.rwc.Close() }

func needsRawCodec() bool {
	v := os.Getenv("GOTEST_MISBEHAVE")
	return strings.Contains(v, "malformed:") || strings.Contains(v, "flood:")
}

func main() {
	if os.Getenv(pluginEnvKey) != pluginEnvVal {
		fmt.Fprintf(os.Stderr, `This is a Docker Machine plugin binary.
Plugin binaries are not intended to be invoked directly.
Please use this plugin through the main 'docker-machine' binary.
(API version: %d)
`, apiVersion)
		os.Exit(1)
	}
	os.Setenv("MACHINE_DEBUG", "1")

	rpcd := &RPCServerDriver{d: newDriver(), CloseCh: make(chan bool), HeartbeatCh: make(chan bool)}
	names := []string{serviceOldV0, serviceNewV1}
	if os.Getenv("GOTEST_SERVICE") == "V0" {
		names = []string{serviceOldV0}
	}
	server := rpc.DefaultServer
	for _, name := range names {
		if err := server.RegisterName(name, rpcd); err != nil {
			fmt.Fprintf(os.Stderr, "Error registering the RPC service: %s\n", err)
			os.Exit(1)
		}
	}
	mux := http.DefaultServeMux
	if needsRawCodec() {
		mux = http.NewServeMux()
		mux.Handle(rpc.DefaultRPCPath, rawHandler{server})
	} else {
		rpc.HandleHTTP()
	}

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error loading RPC server: %s\n", err)
		os.Exit(1)
	}
	defer listener.Close()

	if line := os.Getenv("GOTEST_ADDRESS_LINE"); line != "" {
		port := strconv.Itoa(listener.Addr().(*net.TCPAddr).Port)
		fmt.Println(strings.ReplaceAll(line, "{port}", port))
	} else {
		fmt.Println(listener.Addr())
	}

	go http.Serve(listener, mux)

	for {
		select {
		case <-rpcd.CloseCh:
			fmt.Fprintln(os.Stderr, "Closing plugin on server side")
			os.Exit(0)
		case <-rpcd.HeartbeatCh:
			continue
		case <-time.After(heartbeatTimeout):
			os.Exit(1)
		}
	}
}
