//! The few platform calls std has no safe name for: the effective user id, and the uid of the
//! process at the other end of a Unix domain socket (SO_PEERCRED on Linux, getpeereid
//! elsewhere). The only `unsafe` of the command.

#![allow(unsafe_code)]

/// This process's effective user id.
#[cfg(unix)]
pub fn euid() -> u32 {
    // SAFETY: geteuid takes no arguments, cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() }
}

/// The effective uid of the peer of a connected Unix domain socket.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn peer_uid(fd: std::os::fd::RawFd) -> std::io::Result<u32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are live locals of the sizes given; the kernel writes at most
    // `len` bytes into `cred` and fails cleanly on a descriptor that is not a Unix socket.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(cred.uid)
}

/// The effective uid of the peer of a connected Unix domain socket.
#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
pub fn peer_uid(fd: std::os::fd::RawFd) -> std::io::Result<u32> {
    let (mut uid, mut gid) = (0, 0);
    // SAFETY: both out-pointers are live locals; getpeereid fails cleanly on a bad descriptor.
    let rc = unsafe { libc::getpeereid(fd, &mut uid, &mut gid) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(uid)
}
