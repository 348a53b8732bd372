// Ucwa/Presence.cs: the value UcwaClient.GetPresence returns.

namespace Ucwa
{
    /// <summary>A user's presence as the server reported it.</summary>
    public sealed class Presence
    {
        /// <summary>Creates a presence value.</summary>
        /// <param name="availability">The availability.</param>
        /// <param name="activity">The activity token (e.g. "in-a-meeting"), or null.</param>
        public Presence(Availability availability, string activity)
        {
            Availability = availability;
            Activity = activity;
        }

        /// <summary>The availability (Online..Unknown; never Unspecified).</summary>
        public Availability Availability { get; private set; }

        /// <summary>The activity the server sent (e.g. "in-a-meeting"), or null when it sent none.</summary>
        public string Activity { get; private set; }

        /// <summary>E.g. "Busy (in-a-meeting)".</summary>
        /// <returns>A short description for logs.</returns>
        public override string ToString()
        {
            return Activity == null ? Availability.ToString() : Availability + " (" + Activity + ")";
        }
    }
}
