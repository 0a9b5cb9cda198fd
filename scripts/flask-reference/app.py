"""A reference build of the Flask service that auditlog reimplements.

Written for the read benchmark (scripts/bench-flask.sh) from the seed's
description: the Account, User and AuditLog tables, sign-in with
Flask-Login's session cookie, and GET /api/audit-logs with the seed's
filters and pagination, as a straightforward Flask + Flask-SQLAlchemy
application would do them. It is a yardstick, not a product: it implements
only what the benchmark calls.

    DB_PATH=/tmp/flask.db python3 app.py init    # the schema and the sample data
    DB_PATH=/tmp/flask.db gunicorn -w 2 -b 127.0.0.1:5001 app:app
"""

import os
import random
import sys
from datetime import datetime, timedelta, timezone

from flask import Flask, jsonify, request
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_sqlalchemy import SQLAlchemy
from werkzeug.security import check_password_hash, generate_password_hash

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "flask-reference-secret")
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.abspath(os.environ.get("DB_PATH", "flask_reference.db"))
app.config["SQLALCHEMY_TRACK_MODIFICATIONS"] = False
db = SQLAlchemy(app)
login_manager = LoginManager(app)


class Account(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False)
    domain = db.Column(db.String(200), unique=True, nullable=False)
    created_at = db.Column(db.DateTime, default=datetime.utcnow)


class User(UserMixin, db.Model):
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(254), unique=True, nullable=False)
    password_hash = db.Column(db.String(256), nullable=False)
    first_name = db.Column(db.String(100), default="")
    last_name = db.Column(db.String(100), default="")
    role = db.Column(db.String(32), nullable=False)
    account_id = db.Column(db.Integer, db.ForeignKey("account.id"), nullable=False)
    is_active_flag = db.Column("is_active", db.Boolean, default=True)
    created_at = db.Column(db.DateTime, default=datetime.utcnow)

    @property
    def is_active(self):
        return self.is_active_flag

    def summary(self):
        return {"id": self.id, "email": self.email, "first_name": self.first_name,
                "last_name": self.last_name, "role": self.role}


class AuditLog(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id"))
    account_id = db.Column(db.Integer, db.ForeignKey("account.id"), nullable=False, index=True)
    action = db.Column(db.String(100), nullable=False)
    resource_type = db.Column(db.String(100))
    resource_id = db.Column(db.String(100))
    details = db.Column(db.Text)
    ip_address = db.Column(db.String(64))
    user_agent = db.Column(db.String(512))
    created_at = db.Column(db.DateTime, default=datetime.utcnow, index=True)
    user = db.relationship("User")

    def to_dict(self):
        return {
            "id": self.id,
            "user": self.user.summary() if self.user else None,
            "action": self.action,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "details": self.details,
            "ip_address": self.ip_address,
            "user_agent": self.user_agent,
            "created_at": self.created_at.isoformat() + "Z",
        }


@login_manager.user_loader
def load_user(user_id):
    return db.session.get(User, int(user_id))


@login_manager.unauthorized_handler
def unauthorized():
    return jsonify({"error": "Authentication required"}), 401


def record(user, action, resource_type=None, resource_id=None, details=None):
    db.session.add(AuditLog(user_id=user.id, account_id=user.account_id, action=action,
                            resource_type=resource_type, resource_id=resource_id, details=details,
                            ip_address=request.remote_addr, user_agent=request.headers.get("User-Agent")))


@app.post("/api/auth/login")
def login():
    data = request.get_json(silent=True) or {}
    user = User.query.filter_by(email=(data.get("email") or "").strip().lower()).first()
    if not user or not user.is_active or not check_password_hash(user.password_hash, data.get("password") or ""):
        return jsonify({"error": "Invalid email or password"}), 401
    login_user(user)
    record(user, "user_login", "user", str(user.id), "User logged in successfully")
    db.session.commit()
    body = user.summary()
    body["account_id"] = user.account_id
    return jsonify({"message": "Login successful", "user": body})


@app.post("/api/auth/logout")
@login_required
def logout():
    logout_user()
    return jsonify({"message": "Logout successful"})


def parse_date(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc).replace(tzinfo=None)


@app.get("/api/audit-logs")
@login_required
def audit_logs():
    if current_user.role not in ("owner", "admin"):
        return jsonify({"error": "Insufficient permissions"}), 403
    page = request.args.get("page", 1, type=int)
    per_page = min(request.args.get("per_page", 50, type=int), 100)
    q = AuditLog.query.filter_by(account_id=current_user.account_id)
    if request.args.get("user_id"):
        q = q.filter_by(user_id=request.args.get("user_id", type=int))
    if request.args.get("action"):
        q = q.filter_by(action=request.args["action"])
    if request.args.get("resource_type"):
        q = q.filter_by(resource_type=request.args["resource_type"])
    try:
        if request.args.get("start_date"):
            q = q.filter(AuditLog.created_at >= parse_date(request.args["start_date"]))
        if request.args.get("end_date"):
            q = q.filter(AuditLog.created_at <= parse_date(request.args["end_date"]))
    except ValueError:
        return jsonify({"error": "Invalid date format"}), 400
    pg = q.order_by(AuditLog.created_at.desc()).paginate(page=page, per_page=per_page, error_out=False)
    return jsonify({
        "audit_logs": [log.to_dict() for log in pg.items],
        "pagination": {"page": pg.page, "per_page": pg.per_page, "total": pg.total, "pages": pg.pages,
                       "has_next": pg.has_next, "has_prev": pg.has_prev},
    })


SAMPLE_USERS = [
    ("owner@sample-store.com", "owner123", "Olivia", "Owner", "owner"),
    ("admin@sample-store.com", "admin123", "Adam", "Admin", "admin"),
    ("analyst@sample-store.com", "analyst123", "Ana", "Analyst", "analyst"),
    ("creator@sample-store.com", "creator123", "Carl", "Creator", "content_creator"),
]
SAMPLE_ACTIONS = [
    ("product_created", "product"), ("product_updated", "product"), ("order_created", "order"),
    ("order_refunded", "order"), ("user_login", "user"), ("settings_changed", "settings"),
]


def init():
    """Create the schema and the seed's sample data: one account, four
    users and 100 audit logs over the last 30 days."""
    with app.app_context():
        db.drop_all()
        db.create_all()
        account = Account(name="Sample Ecommerce Store", domain="sample-store.com")
        db.session.add(account)
        db.session.flush()
        users = []
        for email, password, first, last, role in SAMPLE_USERS:
            u = User(email=email, password_hash=generate_password_hash(password), first_name=first,
                     last_name=last, role=role, account_id=account.id)
            db.session.add(u)
            users.append(u)
        db.session.flush()
        rnd = random.Random(1)
        now = datetime.utcnow()
        for i in range(100):
            action, rtype = rnd.choice(SAMPLE_ACTIONS)
            user = rnd.choice(users)
            db.session.add(AuditLog(user_id=user.id, account_id=account.id, action=action, resource_type=rtype,
                                    resource_id=str(rnd.randint(1, 500)), details=f"Sample {action.replace('_', ' ')}",
                                    ip_address=f"192.168.1.{rnd.randint(1, 254)}",
                                    user_agent="Mozilla/5.0 (X11; Linux x86_64)",
                                    created_at=now - timedelta(minutes=rnd.randint(0, 30 * 24 * 60))))
        db.session.commit()
    print("sample data written to " + app.config["SQLALCHEMY_DATABASE_URI"])


if __name__ == "__main__":
    if sys.argv[1:] == ["init"]:
        init()
    else:
        print(__doc__)
        sys.exit(2)
