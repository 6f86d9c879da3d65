#include "metricsendpoint.h"

#include <monitor/prometheusformat.h>

#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

namespace htap::cli {

using namespace Qt::StringLiterals;

bool parseListenAddress(const QString& text, ListenAddress* out, QString* error)
{
    QString host, port = text.trimmed();
    if (port.startsWith(u'[')) { // [::1]:9188
        const qsizetype close = port.indexOf(u"]:"_s);
        if (close < 0) {
            *error = u"--listen %1: write an IPv6 address as [address]:port"_s.arg(text);
            return false;
        }
        host = port.mid(1, close - 1);
        port = port.mid(close + 2);
    } else if (const qsizetype colon = port.lastIndexOf(u':'); colon >= 0) {
        host = port.left(colon);
        port = port.mid(colon + 1);
        if (host.contains(u':')) {
            *error = u"--listen %1: write an IPv6 address as [address]:port"_s.arg(text);
            return false;
        }
    }
    bool ok = false;
    const uint number = port.toUInt(&ok);
    if (!ok || number > 65535) {
        *error = u"--listen %1: the port must be a number from 0 (any free port) to 65535, as in 127.0.0.1:9188"_s.arg(text);
        return false;
    }
    out->port = quint16(number);
    if (host.isEmpty() || host.compare(u"localhost"_s, Qt::CaseInsensitive) == 0) {
        out->address = QHostAddress(QHostAddress::LocalHost);
        return true;
    }
    if (!out->address.setAddress(host)) {
        *error = u"--listen %1: %2 is not an IP address (names are not looked up; use 127.0.0.1, [::1] or the address "
                 "of the interface to serve on)"_s.arg(text, host);
        return false;
    }
    return true;
}

MetricsEndpoint::MetricsEndpoint(std::function<QByteArray()> body, QObject* parent)
    : QObject(parent)
    , m_body(std::move(body))
    , m_server(new QTcpServer(this))
{
    QObject::connect(m_server, &QTcpServer::newConnection, this, [this] { accept(); });
}

bool MetricsEndpoint::listen(const ListenAddress& where, QString* error)
{
    if (m_server->listen(where.address, where.port))
        return true;
    const QString at = where.address.protocol() == QAbstractSocket::IPv6Protocol
        ? u"[%1]:%2"_s.arg(where.address.toString()).arg(where.port)
        : u"%1:%2"_s.arg(where.address.toString()).arg(where.port);
    *error = m_server->serverError() == QAbstractSocket::AddressInUseError
        ? u"cannot listen on %1: the port is taken (another exporter or monitor?)"_s.arg(at)
        : u"cannot listen on %1: %2"_s.arg(at, m_server->errorString());
    return false;
}

quint16 MetricsEndpoint::port() const
{
    return m_server->serverPort();
}

void MetricsEndpoint::accept()
{
    while (QTcpSocket* socket = m_server->nextPendingConnection()) {
        socket->setParent(this);
        QObject::connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        QObject::connect(socket, &QTcpSocket::readyRead, this, [this, socket] { readRequest(socket); });
        // A client that connects and says nothing is dropped; nothing here waits for it.
        QTimer::singleShot(kRequestTimeoutMs, socket, [socket] { socket->abort(); socket->deleteLater(); });
    }
}

void MetricsEndpoint::readRequest(QTcpSocket* socket)
{
    if (socket->property("answered").toBool())
        return;
    QByteArray request = socket->property("request").toByteArray() + socket->readAll();
    const qsizetype end = request.indexOf("\r\n\r\n");
    if (end < 0) {
        if (request.size() > kMaxRequestBytes)
            respond(socket, "431 Request Header Fields Too Large", "text/plain; charset=utf-8", "request too large\n");
        else
            socket->setProperty("request", request);
        return;
    }
    const QList<QByteArray> line = request.left(request.indexOf("\r\n")).split(' ');
    if (line.size() != 3 || !line[2].startsWith("HTTP/1.")) {
        respond(socket, "400 Bad Request", "text/plain; charset=utf-8", "bad request\n");
        return;
    }
    const QByteArray& method = line[0];
    const QByteArray path = line[1].left(line[1].indexOf('?') < 0 ? line[1].size() : line[1].indexOf('?'));
    if (path != "/metrics") {
        respond(socket, "404 Not Found", "text/plain; charset=utf-8", "not found: the metrics are at /metrics\n");
        return;
    }
    if (method != "GET" && method != "HEAD") {
        respond(socket, "405 Method Not Allowed", "text/plain; charset=utf-8", "only GET\n");
        return;
    }
    respond(socket, "200 OK", htap::monitor::kPrometheusContentType, m_body(), method == "HEAD");
}

void MetricsEndpoint::respond(QTcpSocket* socket, const QByteArray& status, const QByteArray& contentType,
    const QByteArray& body, bool head)
{
    socket->setProperty("answered", true);
    socket->setProperty("request", QVariant());
    QByteArray response = "HTTP/1.1 " + status + "\r\nContent-Type: " + contentType
        + "\r\nContent-Length: " + QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n";
    if (!head)
        response += body;
    socket->write(response);
    socket->disconnectFromHost(); // after what is written has gone
}

} // namespace htap::cli
