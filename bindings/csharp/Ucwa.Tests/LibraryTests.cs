// Ucwa.Tests/LibraryTests.cs: what happens when the native library is missing or speaks another
// ABI version. Each case runs this test program again as a child process (mode --library-probe)
// with LD_LIBRARY_PATH pointing at a directory that holds no libucwa.so, or a stand-in libucwa.so
// compiled here whose ucwa_abi_version() returns 2; the child reports what its first use threw.

using System;
using System.Diagnostics;
using System.IO;

namespace Ucwa.Tests
{
    internal static class LibraryTests
    {
        public const string ProbeArgument = "--library-probe";

        /// <summary>Child mode: the first use of the binding, and what it threw.</summary>
        public static int Probe()
        {
            try
            {
                using (new UcwaClient("http://127.0.0.1:9/"))
                {
                    Console.WriteLine("no exception");
                }
            }
            catch (Exception e)
            {
                Console.WriteLine(e.GetType().Name + ": " + e.Message);
            }
            return 0;
        }

        private static string RunProbe(string libraryDir)
        {
            string exe = typeof(LibraryTests).Assembly.Location;
            var psi = new ProcessStartInfo("mono", "\"" + exe + "\" " + ProbeArgument)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            psi.EnvironmentVariables["LD_LIBRARY_PATH"] = libraryDir;
            psi.EnvironmentVariables["MONO_PATH"] = Path.GetDirectoryName(exe);
            using (Process p = Process.Start(psi))
            {
                string stderrText = null;
                var errReader = new System.Threading.Thread(() => { stderrText = p.StandardError.ReadToEnd(); });
                errReader.Start();
                string output = p.StandardOutput.ReadToEnd();
                Assert.True(p.WaitForExit(30000), "the probe process did not finish");
                errReader.Join();
                Assert.Equal(0, p.ExitCode, "probe exit code (stderr: " + stderrText + ")");
                return output.Trim();
            }
        }

        private static string TempDir()
        {
            string dir = Path.Combine(Path.GetTempPath(), "ucwa-cs-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            return dir;
        }

        [Test]
        private static void missing_native_library_fails_at_first_use_with_a_clear_message()
        {
            string dir = TempDir();
            try
            {
                string output = RunProbe(dir);
                Assert.True(output.StartsWith("UcwaLibraryException: "), "probe output: " + output);
                Assert.True(output.Contains("libucwa.so") && output.Contains("LD_LIBRARY_PATH"), "the message names the file and the loader path: " + output);
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [Test]
        private static void native_library_with_another_abi_version_is_refused_at_first_use()
        {
            string dir = TempDir();
            try
            {
                string source = Path.Combine(dir, "fake.c");
                File.WriteAllText(source, "unsigned int ucwa_abi_version(void) { return 2; }\n");
                var cc = new ProcessStartInfo("cc", "-shared -fPIC -o \"" + Path.Combine(dir, "libucwa.so") + "\" \"" + source + "\"")
                {
                    UseShellExecute = false,
                };
                using (Process p = Process.Start(cc))
                {
                    p.WaitForExit();
                    Assert.Equal(0, p.ExitCode, "cc building the stand-in library");
                }
                string output = RunProbe(dir);
                Assert.True(output.StartsWith("UcwaLibraryException: "), "probe output: " + output);
                Assert.True(output.Contains("ABI version 2") && output.Contains("needs version 1"), "the message names both versions: " + output);
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }
    }
}
