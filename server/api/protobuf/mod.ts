/**
 * Kubernetes protobuf request bodies: `decodeProtobufObject` turns the body of a
 * `Content-Type: application/vnd.kubernetes.protobuf` request into the object's JSON form.
 * Skiff always answers in JSON, which kubectl accepts, so there is no encoder.
 */
export { decodeProtobufObject, PROTOBUF_MAGIC } from "./decode.ts";
