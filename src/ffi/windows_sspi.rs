//! The logged-on Windows user's side of the Windows grant, through the system's SSPI
//! (secur32): the only way to that account's credentials, which no process can read. It lives
//! under `ffi` because it calls foreign functions; the handshake around it is `auth::windows`.
//!
//! One credentials handle and one security context per sign-in handshake, both released when
//! the handshake is dropped; every output buffer SSPI allocates is copied and freed at once.

use std::ptr;

use windows_sys::Win32::Foundation::{
    SEC_E_OK, SEC_I_COMPLETE_AND_CONTINUE, SEC_I_COMPLETE_NEEDED, SEC_I_CONTINUE_NEEDED,
};
use windows_sys::Win32::Security::Authentication::Identity::{
    AcquireCredentialsHandleW, CompleteAuthToken, DeleteSecurityContext, FreeContextBuffer,
    FreeCredentialsHandle, InitializeSecurityContextW, SecBuffer, SecBufferDesc,
    ISC_REQ_ALLOCATE_MEMORY, ISC_REQ_CONNECTION, SECBUFFER_TOKEN, SECBUFFER_VERSION,
    SECPKG_CRED_OUTBOUND, SECURITY_NATIVE_DREP,
};
use windows_sys::Win32::Security::Credentials::SecHandle;

use crate::auth::{Handshake, Scheme};

/// The longest token accepted from the server, as in `auth::windows`.
const MAX_INPUT: usize = 64 * 1024;

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

struct Native {
    credentials: SecHandle,
    context: Option<SecHandle>,
    target: Vec<u16>,
}

// SAFETY: the handles are plain integers owned by this value; SSPI allows a credentials
// handle and a context to be used from any thread, one call at a time, which `&mut self`
// guarantees.
unsafe impl Send for Native {}

impl Drop for Native {
    fn drop(&mut self) {
        if let Some(ctx) = self.context.take() {
            // SAFETY: `ctx` came from InitializeSecurityContextW and is deleted exactly once.
            unsafe { DeleteSecurityContext(&ctx) };
        }
        // SAFETY: acquired in `current_user` and released exactly once, here.
        unsafe { FreeCredentialsHandle(&self.credentials) };
    }
}

impl Handshake for Native {
    fn step(&mut self, input: Option<&[u8]>) -> Result<(Vec<u8>, bool), String> {
        let mut in_copy = input.map(<[u8]>::to_vec).unwrap_or_default();
        if in_copy.len() > MAX_INPUT {
            return Err("the server's token is too long".into());
        }
        let mut in_buffer = SecBuffer {
            cbBuffer: in_copy.len() as u32,
            BufferType: SECBUFFER_TOKEN,
            pvBuffer: in_copy.as_mut_ptr().cast(),
        };
        let in_desc = SecBufferDesc {
            ulVersion: SECBUFFER_VERSION,
            cBuffers: 1,
            pBuffers: &mut in_buffer,
        };
        let mut out_buffer = SecBuffer {
            cbBuffer: 0,
            BufferType: SECBUFFER_TOKEN,
            pvBuffer: ptr::null_mut(),
        };
        let mut out_desc = SecBufferDesc {
            ulVersion: SECBUFFER_VERSION,
            cBuffers: 1,
            pBuffers: &mut out_buffer,
        };
        let mut new_context = SecHandle {
            dwLower: 0,
            dwUpper: 0,
        };
        let mut attributes = 0u32;
        let mut expiry = 0i64;
        let current = self.context.as_ref().map_or(ptr::null(), |c| c as *const _);
        // SAFETY: every pointer refers to a live local or to `self` for the whole call; the
        // input descriptor is passed only after the first leg, as SSPI requires; SSPI writes
        // the output token into a buffer it allocates (ISC_REQ_ALLOCATE_MEMORY), freed below.
        let status = unsafe {
            InitializeSecurityContextW(
                &self.credentials,
                current,
                self.target.as_ptr(),
                ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_CONNECTION,
                0,
                SECURITY_NATIVE_DREP,
                if input.is_some() {
                    &in_desc
                } else {
                    ptr::null()
                },
                0,
                &mut new_context,
                &mut out_desc,
                &mut attributes,
                &mut expiry,
            )
        };
        let ok = [
            SEC_E_OK,
            SEC_I_CONTINUE_NEEDED,
            SEC_I_COMPLETE_NEEDED,
            SEC_I_COMPLETE_AND_CONTINUE,
        ];
        if ok.contains(&status) && self.context.is_none() {
            self.context = Some(new_context);
        }
        if matches!(status, SEC_I_COMPLETE_NEEDED | SEC_I_COMPLETE_AND_CONTINUE) {
            if let Some(ctx) = self.context.as_ref() {
                // SAFETY: `ctx` is the live context and `out_desc` the token it just produced.
                unsafe { CompleteAuthToken(ctx, &out_desc) };
            }
        }
        let token = if out_buffer.pvBuffer.is_null() {
            Vec::new()
        } else {
            // SAFETY: SSPI allocated `cbBuffer` bytes at `pvBuffer`; they are copied, then
            // freed once with FreeContextBuffer.
            let bytes = unsafe {
                std::slice::from_raw_parts(
                    out_buffer.pvBuffer.cast::<u8>(),
                    out_buffer.cbBuffer as usize,
                )
                .to_vec()
            };
            // SAFETY: as above; the pointer is not used again.
            unsafe { FreeContextBuffer(out_buffer.pvBuffer) };
            bytes
        };
        if !ok.contains(&status) {
            return Err(format!(
                "Windows SSPI refused the handshake (0x{:08X})",
                status as u32
            ));
        }
        let done = !matches!(status, SEC_I_CONTINUE_NEEDED | SEC_I_COMPLETE_AND_CONTINUE);
        Ok((token, done))
    }
}

/// A handshake as the account this process runs as.
pub(crate) fn current_user(scheme: Scheme, target: &str) -> Result<Box<dyn Handshake>, String> {
    let package = wide(scheme.name());
    let mut credentials = SecHandle {
        dwLower: 0,
        dwUpper: 0,
    };
    let mut expiry = 0i64;
    // SAFETY: no principal and no auth data select the logged-on user's own credentials; the
    // package name is a NUL-terminated UTF-16 string that outlives the call.
    let status = unsafe {
        AcquireCredentialsHandleW(
            ptr::null(),
            package.as_ptr(),
            SECPKG_CRED_OUTBOUND,
            ptr::null(),
            ptr::null(),
            None,
            ptr::null(),
            &mut credentials,
            &mut expiry,
        )
    };
    if status != SEC_E_OK {
        return Err(format!(
            "Windows has no {} credentials for the current user (0x{:08X})",
            scheme.name(),
            status as u32
        ));
    }
    Ok(Box::new(Native {
        credentials,
        context: None,
        target: wide(target),
    }))
}
