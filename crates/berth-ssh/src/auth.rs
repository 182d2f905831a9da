//! User authentication: key files (with their `.pub` beside them when present,
//! which sidesteps libssh2's trouble deriving some public keys) and the agent.

use std::path::{Path, PathBuf};

use berth_names::EnvVars;

use crate::error::SshError;
use crate::io::timed_out;
use crate::target::{Auth, Target};

/// Authenticates `target.user` by `target.auth`, listing every attempt in the error.
pub(crate) fn authenticate(sess: &ssh2::Session, target: &Target) -> Result<(), SshError> {
    let mut tried = Vec::new();
    let done = match &target.auth {
        Auth::KeyFile(key) => try_key(sess, target, key, &mut tried)?,
        Auth::Agent => try_agent(sess, target, &mut tried)?,
        Auth::Default => {
            let mut ok = false;
            if std::env::var_os(EnvVars::SSH_AUTH_SOCK).is_some() {
                ok = try_agent(sess, target, &mut tried)?;
            }
            for key in default_keys() {
                if ok {
                    break;
                }
                if key.exists() {
                    ok = try_key(sess, target, &key, &mut tried)?;
                }
            }
            ok
        }
    };
    if done && sess.authenticated() {
        Ok(())
    } else {
        Err(SshError::AuthFailed {
            user: target.user.clone(),
            addr: target.addr(),
            tried,
        })
    }
}

/// `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`, in the order `ssh` tries them.
fn default_keys() -> Vec<PathBuf> {
    let Some(home) = std::env::var_os(EnvVars::HOME) else {
        return Vec::new();
    };
    ["id_ed25519", "id_ecdsa", "id_rsa"]
        .iter()
        .map(|name| Path::new(&home).join(".ssh").join(name))
        .collect()
}

/// Turns a libssh2 timeout into [`SshError::Timeout`]; other errors are "this method failed".
fn check_timeout(e: &ssh2::Error, target: &Target, during: &str) -> Result<(), SshError> {
    if timed_out(e) {
        return Err(SshError::Timeout {
            addr: target.addr(),
            after: target.io_timeout,
            during: during.to_string(),
        });
    }
    Ok(())
}

fn try_key(
    sess: &ssh2::Session,
    target: &Target,
    key: &Path,
    tried: &mut Vec<String>,
) -> Result<bool, SshError> {
    if !key.exists() {
        tried.push(format!("key file {} (it does not exist)", key.display()));
        return Ok(false);
    }
    let public = PathBuf::from(format!("{}.pub", key.display()));
    let publics: Vec<Option<&Path>> = if public.exists() {
        vec![Some(public.as_path()), None]
    } else {
        vec![None]
    };
    let mut last = None;
    for pubkey in publics {
        match sess.userauth_pubkey_file(&target.user, pubkey, key, None) {
            Ok(()) => return Ok(true),
            Err(e) => {
                check_timeout(&e, target, "authenticating")?;
                last = Some(e);
            }
        }
    }
    let why = last.map(|e| e.to_string()).unwrap_or_default();
    tried.push(format!("key file {} ({why})", key.display()));
    Ok(false)
}

fn try_agent(
    sess: &ssh2::Session,
    target: &Target,
    tried: &mut Vec<String>,
) -> Result<bool, SshError> {
    match sess.userauth_agent(&target.user) {
        Ok(()) => Ok(true),
        Err(e) => {
            check_timeout(&e, target, "authenticating with the agent")?;
            tried.push(format!("ssh-agent ({e})"));
            Ok(false)
        }
    }
}
