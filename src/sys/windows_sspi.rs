//! The logged-on Windows user's side of a Negotiate or NTLM handshake, through the system's
//! SSPI (secur32): the only way to that account's credentials, which no process can read. It
//! knows nothing of HTTP or of the grant; `auth::windows` drives it as one of its handshakes.
//!
//! One credentials handle and one security context per handshake, both released when it is
//! dropped; every output buffer SSPI allocates is copied and freed at once. The server's tokens
//! it is given are bounded before they get here, where every challenge is read
//! (`auth::challenge::MAX_CHALLENGE_LINE`); this module only checks that a length fits SSPI's
//! `u32`.

use std::ptr;

use windows_sys::core::HRESULT;
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

/// The statuses of a handshake that goes on or is complete; anything else is a refusal.
const ACCEPTED: [HRESULT; 4] = [
    SEC_E_OK,
    SEC_I_CONTINUE_NEEDED,
    SEC_I_COMPLETE_NEEDED,
    SEC_I_COMPLETE_AND_CONTINUE,
];

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

fn token_buffer(bytes: *mut u8, len: u32) -> SecBuffer {
    SecBuffer {
        cbBuffer: len,
        BufferType: SECBUFFER_TOKEN,
        pvBuffer: bytes.cast(),
    }
}

fn one_buffer(buffer: &mut SecBuffer) -> SecBufferDesc {
    SecBufferDesc {
        ulVersion: SECBUFFER_VERSION,
        cBuffers: 1,
        pBuffers: buffer,
    }
}

/// A handshake as the account this process runs as.
pub(crate) struct CurrentUser {
    credentials: SecHandle,
    context: Option<SecHandle>,
    target: Vec<u16>,
}

// SAFETY: the handles are plain integers owned by this value; SSPI allows a credentials
// handle and a context to be used from any thread, one call at a time, which `&mut self`
// guarantees.
unsafe impl Send for CurrentUser {}

impl Drop for CurrentUser {
    fn drop(&mut self) {
        if let Some(ctx) = self.context.take() {
            // SAFETY: `ctx` came from InitializeSecurityContextW and is deleted exactly once.
            unsafe { DeleteSecurityContext(&ctx) };
        }
        // SAFETY: acquired in `acquire` and released exactly once, here.
        unsafe { FreeCredentialsHandle(&self.credentials) };
    }
}

impl CurrentUser {
    /// The current user's outbound credentials for the SSPI `package` ("Negotiate" or "NTLM"),
    /// for the service principal `target` (`HTTP/host`).
    pub(crate) fn acquire(package: &str, target: &str) -> Result<CurrentUser, String> {
        let package_name = wide(package);
        let mut credentials = SecHandle {
            dwLower: 0,
            dwUpper: 0,
        };
        let mut expiry = 0i64;
        // SAFETY: no principal and no auth data select the logged-on user's own credentials;
        // the package name is a NUL-terminated UTF-16 string that outlives the call.
        let status = unsafe {
            AcquireCredentialsHandleW(
                ptr::null(),
                package_name.as_ptr(),
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
                "Windows has no {package} credentials for the current user (0x{:08X})",
                status as u32
            ));
        }
        Ok(CurrentUser {
            credentials,
            context: None,
            target: wide(target),
        })
    }

    /// Given the server's last token (none at first), the next token to send, and whether the
    /// context is complete once it is sent.
    pub(crate) fn step(&mut self, input: Option<&[u8]>) -> Result<(Vec<u8>, bool), String> {
        let mut input = input.map(<[u8]>::to_vec);
        let (status, mut output) = self.initialize(input.as_deref_mut())?;
        if matches!(status, SEC_I_COMPLETE_NEEDED | SEC_I_COMPLETE_AND_CONTINUE) {
            if let Some(ctx) = self.context.as_ref() {
                let desc = one_buffer(&mut output);
                // SAFETY: `ctx` is the live context and `desc` the token it just produced.
                unsafe { CompleteAuthToken(ctx, &desc) };
            }
        }
        let token = take_token(output);
        if !ACCEPTED.contains(&status) {
            return Err(format!(
                "Windows SSPI refused the handshake (0x{:08X})",
                status as u32
            ));
        }
        let done = !matches!(status, SEC_I_CONTINUE_NEEDED | SEC_I_COMPLETE_AND_CONTINUE);
        Ok((token, done))
    }

    /// One InitializeSecurityContextW call: its status and the output buffer SSPI allocated
    /// (freed by `take_token`). The context the first call creates is kept.
    fn initialize(&mut self, input: Option<&mut [u8]>) -> Result<(HRESULT, SecBuffer), String> {
        let has_input = input.is_some();
        let (bytes, len) = match input {
            Some(i) => (
                i.as_mut_ptr(),
                u32::try_from(i.len()).map_err(|_| "the server's token is too long")?,
            ),
            None => (ptr::null_mut(), 0),
        };
        let mut in_buffer = token_buffer(bytes, len);
        let in_desc = one_buffer(&mut in_buffer);
        let mut out_buffer = token_buffer(ptr::null_mut(), 0);
        let mut out_desc = one_buffer(&mut out_buffer);
        let mut new_context = SecHandle {
            dwLower: 0,
            dwUpper: 0,
        };
        let (mut attributes, mut expiry) = (0u32, 0i64);
        let current = self.context.as_ref().map_or(ptr::null(), |c| c as *const _);
        // SAFETY: every pointer refers to a live local, to the caller's input or to `self` for
        // the whole call; the input descriptor is passed only after the first leg, as SSPI
        // requires; SSPI writes the output token into a buffer it allocates
        // (ISC_REQ_ALLOCATE_MEMORY), which `take_token` frees.
        let status = unsafe {
            InitializeSecurityContextW(
                &self.credentials,
                current,
                self.target.as_ptr(),
                ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_CONNECTION,
                0,
                SECURITY_NATIVE_DREP,
                if has_input { &in_desc } else { ptr::null() },
                0,
                &mut new_context,
                &mut out_desc,
                &mut attributes,
                &mut expiry,
            )
        };
        if ACCEPTED.contains(&status) && self.context.is_none() {
            self.context = Some(new_context);
        }
        Ok((status, out_buffer))
    }
}

/// The bytes of an output buffer SSPI allocated, copied; the buffer is freed.
fn take_token(buffer: SecBuffer) -> Vec<u8> {
    if buffer.pvBuffer.is_null() {
        return Vec::new();
    }
    // SAFETY: SSPI allocated `cbBuffer` bytes at `pvBuffer`; they are copied, then freed once
    // with FreeContextBuffer.
    let bytes = unsafe {
        std::slice::from_raw_parts(buffer.pvBuffer.cast::<u8>(), buffer.cbBuffer as usize).to_vec()
    };
    // SAFETY: as above; the pointer is not used again.
    unsafe { FreeContextBuffer(buffer.pvBuffer) };
    bytes
}
