"""A school's first day, called through the Services as clients in the cluster would.

The client knows no Campus code: it reads the contracts from each service's reflection
endpoint (as grpcurl does) and builds its requests from them. The calls cross every edge of
the mesh: tokens verified with users' keys, courses → users (instructor names), courses →
progress (progress fan-out), courses → progress by events (enrolments), and finance. Calls
alternate between a Service's replicas, as many clients behind a ClusterIP would, so a write on
one replica must be seen by the next read on another (caches invalidated across replicas), and
a mark written on one progress replica must reach a watcher connected to another.
"""

import datetime
import threading
import time
import uuid

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf import duration_pb2, empty_pb2, field_mask_pb2, timestamp_pb2, wrappers_pb2
from grpc_reflection.v1alpha import reflection_pb2

from .probes import NO_PROXY

REFLECTION = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
WELL_KNOWN = {module.DESCRIPTOR.name: module.DESCRIPTOR
              for module in (duration_pb2, empty_pb2, field_mask_pb2, timestamp_pb2, wrappers_pb2)}


class Client:
    """Calls any method of a service by name, with JSON-shaped requests and responses, on its
    replicas in turn (or on the one asked for)."""

    def __init__(self, addresses):
        self.channels = [grpc.insecure_channel(address, options=NO_PROXY) for address in addresses]
        self.channel, self.turn = self.channels[0], 0
        self.pool = descriptor_pool.DescriptorPool()
        self.files, self.added = {}, set()

    def reflect(self, **request):
        """File descriptors the reflection service answers with (v1, same wire format as v1alpha)."""
        call = self.channel.stream_stream(
            REFLECTION,
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        (response,) = list(call(iter([reflection_pb2.ServerReflectionRequest(**request)]), timeout=5))
        if response.HasField("error_response"):
            raise LookupError(f"reflection: {response.error_response.error_message}")
        for raw in response.file_descriptor_response.file_descriptor_proto:
            proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
            self.files[proto.name] = proto

    def add(self, name):
        """Adds a file and its imports to the pool."""
        if name in self.added:
            return
        if name not in self.files:
            if name in WELL_KNOWN:
                self.files[name] = descriptor_pb2.FileDescriptorProto()
                WELL_KNOWN[name].CopyToProto(self.files[name])
            else:
                self.reflect(file_by_filename=name)
        for dependency in self.files[name].dependency:
            self.add(dependency)
        self.pool.Add(self.files[name])
        self.added.add(name)

    def types(self, method):
        """The request and response classes of `package.Service/Method`."""
        service, name = method.rsplit("/", 1)
        try:
            self.pool.FindServiceByName(service)
        except KeyError:
            self.reflect(file_containing_symbol=service)
            for file_name in list(self.files):
                self.add(file_name)
        descriptor = self.pool.FindServiceByName(service).FindMethodByName(name)
        return (message_factory.GetMessageClass(descriptor.input_type),
                message_factory.GetMessageClass(descriptor.output_type))

    def replica(self, index):
        """The channel to replica `index`, or to the next replica in turn."""
        if index is None:
            index, self.turn = self.turn, self.turn + 1
        return self.channels[index % len(self.channels)]

    def call(self, method, request, token=None, replica=None):
        """A unary call with a request given as a dict; the response as a dict."""
        request_type, response_type = self.types(method)
        stub = self.replica(replica).unary_unary(
            f"/{method}",
            request_serializer=request_type.SerializeToString,
            response_deserializer=response_type.FromString,
        )
        metadata = [("authorization", f"Bearer {token}")] if token else []
        response = stub(json_format.ParseDict(request, request_type()), metadata=metadata, timeout=10)
        return json_format.MessageToDict(response, preserving_proto_field_name=True)

    def watch(self, method, request, token, replica):
        """A server-streaming call: the call (to cancel) and an iterator of dict messages."""
        request_type, response_type = self.types(method)
        stub = self.replica(replica).unary_stream(
            f"/{method}",
            request_serializer=request_type.SerializeToString,
            response_deserializer=response_type.FromString,
        )
        call = stub(json_format.ParseDict(request, request_type()),
                    metadata=[("authorization", f"Bearer {token}")], timeout=30)
        return call, (json_format.MessageToDict(m, preserving_proto_field_name=True) for m in call)


def eventually(what, attempt, seconds=30):
    """`attempt()`'s first truthy result, retried while it fails or returns nothing."""
    deadline, last = time.monotonic() + seconds, None
    while time.monotonic() < deadline:
        try:
            result = attempt()
            if result:
                return result
            last = "no result yet"
        except grpc.RpcError as error:
            last = f"{error.code().name}: {error.details()}"
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {seconds} s (last: {last})")


def first_day(clients, admin_email, admin_password, report):
    """Runs the flow; `report` receives one line per step that was checked."""
    users, courses, progress, finance = (clients[name] for name in ("users", "courses", "progress", "finance"))
    admin = users.call("campus.users.v1.UsersService/Login",
                       {"email": admin_email, "password": admin_password})["tokens"]["access_token"]
    school = users.call("campus.users.v1.UsersService/CreateSchool",
                        {"name": "Rehearsal School", "slug": f"rehearsal-{uuid.uuid4().hex[:8]}"}, admin)["school"]
    report("users: platform admin logged in and created a school")

    def person(email, name, role):
        user = users.call("campus.users.v1.UsersService/CreateUser", {
            "school_id": school["id"], "email": email, "display_name": name,
            "roles": [role], "initial_password": "rehearsal passphrase",
        }, admin)["user"]
        token = users.call("campus.users.v1.UsersService/Login", {
            "school_id": school["id"], "email": email, "password": "rehearsal passphrase",
        })["tokens"]["access_token"]
        return user["id"], token

    _, teacher = person("ada@rehearsal.example", "Ada Teacher", "ROLE_INSTRUCTOR")
    student_id, student = person("sam@rehearsal.example", "Sam Student", "ROLE_STUDENT")
    report("users: an instructor and a student created and logged in")

    course = courses.call("campus.courses.v1.CoursesService/CreateCourse",
                          {"school_id": school["id"], "title": "Rehearsal 101"}, teacher, replica=0)["course"]
    courses.call("campus.courses.v1.CoursesService/GetCourse", {"course_id": course["id"]}, teacher, replica=1)
    courses.call("campus.courses.v1.CoursesService/AddLesson",
                 {"course_id": course["id"], "title": "Welcome"}, teacher, replica=0)
    fetched = courses.call("campus.courses.v1.CoursesService/GetCourse", {"course_id": course["id"]}, teacher, replica=1)["course"]
    if fetched.get("lesson_count") != 1:
        raise AssertionError(f"courses: another replica still shows {fetched.get('lesson_count', 0)} lessons after AddLesson")
    courses.call("campus.courses.v1.CoursesService/PublishCourse",
                 {"course_id": course["id"], "version": fetched["version"]}, teacher, replica=0)
    courses.call("campus.courses.v1.CoursesService/Enroll", {"course_id": course["id"], "user_id": student_id}, teacher)
    report("courses: tokens verified with users' keys; a lesson added on one replica is read on another; "
           "course published, student enrolled")

    def enrolled_with_progress():
        listed = courses.call("campus.courses.v1.CoursesService/ListCoursesForUser", {}, student).get("courses", [])
        known = [c for c in listed if c.get("progress_state") == "PROGRESS_STATE_KNOWN"
                 and c.get("progress", {}).get("total_lessons") == 1]
        return known[0] if known else None

    mine = eventually("the student's course with progress", enrolled_with_progress)
    if mine.get("instructor_display_name") != "Ada Teacher":
        raise AssertionError(f"courses → users: instructor name is {mine.get('instructor_display_name')!r}")
    report("courses → users (instructor name) and courses → progress (progress of the enrolment, opened by event)")

    today = datetime.datetime.now(datetime.timezone.utc)
    session_request = str(uuid.uuid4())
    session = eventually("an attendance session", lambda: progress.call(
        "campus.progress.v1.ProgressService/CreateAttendanceSession", {
            "request_id": session_request, "course_id": course["id"],
            "session_date": today.date().isoformat(), "starts_at": today.isoformat().replace("+00:00", "Z"),
        }, teacher))["session"]
    report("progress: an attendance session for the course (progress learnt it from courses' events)")

    call, marks = progress.watch("campus.progress.v1.ProgressService/WatchAttendance",
                                 {"course_id": course["id"]}, teacher, replica=0)
    seen = []

    def collect():
        try:
            for mark in marks:
                seen.append(mark)
        except grpc.RpcError:
            pass  # cancelled below, once the mark arrived or the wait is over

    threading.Thread(target=collect, daemon=True).start()
    call.initial_metadata()  # the server answered the watch: it is subscribed
    progress.call("campus.progress.v1.ProgressService/MarkAttendance", {
        "request_id": str(uuid.uuid4()), "session_id": session["id"],
        "mark": {"student_id": student_id, "status": "ATTENDANCE_STATUS_PRESENT"},
    }, teacher, replica=1)
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        time.sleep(0.1)
    call.cancel()
    if not seen or seen[0].get("mark", {}).get("student_id") != student_id:
        raise AssertionError(f"progress: the watcher on one replica saw {seen} after a mark on another")
    report("progress: a mark written on one replica reached a watcher connected to another")

    account = finance.call("campus.finance.v1.FinanceService/CreateAccount", {
        "name": "Pocket money", "kind": "ACCOUNT_KIND_CASH", "currency": "EUR", "opening_balance_minor": 1500,
    }, student)["account"]
    fetched = finance.call("campus.finance.v1.FinanceService/GetAccount", {"account_id": account["id"]}, student)["account"]
    if fetched["name"] != "Pocket money":
        raise AssertionError(f"finance: the account read back as {fetched}")
    report("finance: the student opened an account and read it back")
    return student


class Load:
    """The student's "my courses" (courses → users, courses → progress) called again and again
    in the background; what came back, for while a Deployment rolls. Each call asks for another
    page size, so courses' cache does not answer it: 200 calls, one every 100 ms, reach progress
    before the sizes repeat."""

    def __init__(self, courses, token):
        self.courses, self.token = courses, token
        self.answered, self.failed, self.unknown = 0, [], 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopped.is_set():
            try:
                listed = self.courses.call("campus.courses.v1.CoursesService/ListCoursesForUser",
                                           {"page_size": self.answered % 200 + 1}, self.token)
                self.answered += 1
                if any(c.get("progress_state") != "PROGRESS_STATE_KNOWN" for c in listed.get("courses", [])):
                    self.unknown += 1
            except grpc.RpcError as error:
                self.failed.append(error.code().name)
            self.stopped.wait(0.1)

    def stop(self):
        self.stopped.set()
        self.thread.join()
