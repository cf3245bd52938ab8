/**
 * Test doubles for controllers, as client-go's `fake` and `cache` test helpers: `FakeLister`
 * (a `Lister` over given objects), `RecordingClient` (a `ControllerClient` that records calls and
 * answers from a tracker or reactors), `FakeRecorder`, `FakeClock` and `invalidCauses`. Import only from tests.
 */
export * from "./fake_clock.ts";
export * from "./fake_lister.ts";
export * from "./fake_recorder.ts";
export * from "./invalid_causes.ts";
export * from "./recording_client.ts";
